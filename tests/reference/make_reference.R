#!/usr/bin/env Rscript
# make_reference.R: regenerates every R reference fixture in tests/reference/.
#
#   cd tests/reference && Rscript make_reference.R
#
# Made with R 4.2.2, psych 2.2.9, psychTools 2.2.9 (GPArotation 2022.10-2 is loaded
# by psych::omega). See README.md for what each file holds and for the formulas.
# Numbers are written with sprintf("%.17g"), so they read back to the identical
# double; a missing value is an empty field. The script stops if the package
# versions differ from the ones above unless REPPROFILE_ALLOW_OTHER_R=1 is set.

suppressPackageStartupMessages({
  library(psych)
  library(psychTools)
})

expected <- c(psych = "2.2.9", psychTools = "2.2.9")
for (p in names(expected)) {
  v <- as.character(packageVersion(p))
  if (v != expected[[p]]) {
    msg <- sprintf("%s is version %s, the fixtures were made with %s", p, v, expected[[p]])
    if (Sys.getenv("REPPROFILE_ALLOW_OTHER_R") == "1") warning(msg) else stop(msg)
  }
}
if (!file.exists("make_reference.R"))
  stop("run this script from tests/reference (Rscript make_reference.R)")

source("careless_definitions.R")

# ---------------------------------------------------------------- writing helpers

fmt_num <- function(x) {
  out <- sprintf("%.17g", as.numeric(x))
  out[is.na(x)] <- ""                      # NA and NaN -> empty field
  out
}

fmt_col <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.integer(x)) { out <- as.character(x); out[is.na(x)] <- ""; return(out) }
  if (is.numeric(x)) return(fmt_num(x))
  if (is.logical(x)) { out <- ifelse(x, "TRUE", "FALSE"); out[is.na(x)] <- ""; return(out) }
  out <- as.character(x)
  out[is.na(x)] <- ""
  out
}

# Plain CSV: comma, header row, no quoting (checked that no field needs it), "\n".
write_plain_csv <- function(df, file) {
  cols <- lapply(df, fmt_col)
  all_fields <- c(names(df), unlist(cols, use.names = FALSE))
  if (any(grepl("[,\"\r\n]", all_fields)))
    stop("a field of ", file, " would need quoting")
  lines <- c(paste(names(df), collapse = ","),
             do.call(paste, c(unname(cols), sep = ",")))
  con <- file(file, open = "wb")
  on.exit(close(con))
  writeLines(lines, con, sep = "\n")
  invisible(file)
}

# -------------------------------------------------------------------------- data

bfi <- psychTools::bfi
item_names <- colnames(bfi)[1:25]
stopifnot(identical(item_names, c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5),
                                  paste0("N", 1:5), paste0("O", 1:5))))
items_all <- bfi[, item_names]
items_complete <- na.omit(items_all)
attr(items_complete, "na.action") <- NULL
keys_list <- psychTools::bfi.keys            # agree, conscientious, extraversion,
scale_ids <- names(keys_list)                # neuroticism, openness
stopifnot(identical(scale_ids, c("agree", "conscientious", "extraversion",
                                 "neuroticism", "openness")))
scale_items <- lapply(keys_list, function(k) sub("-", "", k))
reverse_items <- lapply(keys_list, function(k) sub("-", "", k[startsWith(k, "-")]))
item_scale <- setNames(rep(scale_ids, lengths(scale_items)), unlist(scale_items))
item_keyed <- setNames(ifelse(unlist(keys_list) %in% paste0("-", item_names), -1L, 1L),
                       unlist(scale_items))
stopifnot(identical(sort(unlist(reverse_items, use.names = FALSE)),
                    sort(c("A1", "C4", "C5", "E1", "E2", "O2", "O5"))))

# 1. bfi.csv -------------------------------------------------------------------
bfi_out <- data.frame(candidate_id = rownames(items_all), items_all,
                      stringsAsFactors = FALSE, check.names = FALSE)
write_plain_csv(bfi_out, "bfi.csv")

# 2. bfi.yaml ------------------------------------------------------------------
dict <- psychTools::bfi.dictionary
scale_names <- c(agree = "Agreeableness", conscientious = "Conscientiousness",
                 extraversion = "Extraversion", neuroticism = "Neuroticism",
                 openness = "Openness")
yq <- function(s) {
  s <- gsub("\\\\", "\\\\\\\\", s)
  paste0("\"", gsub("\"", "\\\\\"", s), "\"")
}
yaml <- c(
  "id: bfi",
  "version: \"psychTools-2.2.9\"",
  "title: \"SAPA Big Five items (psychTools::bfi), for reference tests\"",
  paste0("description: ", yq(paste(
    "The 25 Big Five personality self-report items (5 per factor) of the bfi data set",
    "from the R package psychTools 2.2.9, collected by the SAPA project (Revelle et al.),",
    "with item texts from psychTools::bfi.dictionary and keys from psychTools::bfi.keys",
    "(neuroticism is scored as Neuroticism, all items positive). It exists only so that",
    "repprofile's scoring and reliability code can be compared with R psych on real",
    "data; it is not meant for assessing candidates."))),
  "response_scale: {min: 1, max: 6}",
  "scales:",
  sprintf("  - {id: %s, name: %s, min_answered: 1}", scale_ids, yq(scale_names[scale_ids])),
  "items:",
  sprintf("  - {id: %s, text: %s, scale: %s, keyed: %d}", item_names,
          yq(as.character(dict[item_names, "Item"])), item_scale[item_names],
          item_keyed[item_names]),
  "references:",
  paste0("  - ", yq(paste("Revelle, W. (2022). psychTools: Tools to Accompany the 'psych'",
                          "Package for Psychological Research. R package version 2.2.9.")))
)
con <- file("bfi.yaml", open = "wb"); writeLines(yaml, con, sep = "\n"); close(con)

# 3. session information ---------------------------------------------------------
session_lines <- c(
  capture.output(sessionInfo()),
  "",
  paste0("packageVersion(\"psych\"): ", as.character(packageVersion("psych"))),
  paste0("packageVersion(\"psychTools\"): ", as.character(packageVersion("psychTools"))),
  paste0("packageVersion(\"GPArotation\"): ", as.character(packageVersion("GPArotation"))),
  paste0("careless definitions: careless_definitions.R (behaviour of careless ",
         careless_version, ")"),
  paste0("RNGkind: ", paste(RNGkind(), collapse = ", "))
)

# ------------------------------------------------------------- analyses per data set

long_df <- function(scale, statistic, value, item = NULL) {
  if (is.null(item)) data.frame(scale = scale, statistic = statistic, value = value,
                                stringsAsFactors = FALSE)
  else data.frame(scale = scale, item = item, statistic = statistic, value = value,
                  stringsAsFactors = FALSE)
}

feldt_fields <- NULL

run_set <- function(items, suffix) {
  ids <- rownames(items)
  keys <- psych::make.keys(items, keys_list)
  stopifnot(identical(colnames(keys), scale_ids))

  # a. / b. scoreItems scores (impute = "none": mean / sum of the answered items)
  sc_mean <- psych::scoreItems(keys, items, impute = "none", min = 1, max = 6)
  sc_total <- suppressWarnings(   # warns that totals without imputation are risky
    psych::scoreItems(keys, items, impute = "none", min = 1, max = 6, totals = TRUE))
  write_plain_csv(data.frame(candidate_id = ids, sc_mean$scores[, scale_ids],
                             check.names = FALSE),
                  sprintf("scoreitems_mean_%s.csv", suffix))
  write_plain_csv(data.frame(candidate_id = ids, sc_total$scores[, scale_ids],
                             check.names = FALSE),
                  sprintf("scoreitems_total_%s.csv", suffix))

  # c. scoreItems scale statistics and scale correlation matrices
  stat_rows <- list()
  for (s in scale_ids) {
    v <- vapply(list(alpha = sc_mean$alpha[1, s], av.r = sc_mean$av.r[1, s],
                     G6 = sc_mean$G6[1, s], n.items = sc_mean$n.items[s],
                     sn = sc_mean$sn[1, s], ase = sc_mean$ase[1, s],
                     med.r = sc_mean$med.r[s], num.ob.item = sc_mean$num.ob.item[s],
                     alpha.ob = sc_mean$alpha.ob[1, s]),
                function(z) unname(as.numeric(z)), numeric(1))
    stat_rows[[s]] <- long_df(s, names(v), unname(v))
  }
  write_plain_csv(do.call(rbind, stat_rows), sprintf("scoreitems_stats_%s.csv", suffix))
  for (m in c("cor", "corrected")) {
    mat <- sc_mean[[m]][scale_ids, scale_ids]
    write_plain_csv(data.frame(scale = scale_ids, unname(mat), check.names = FALSE,
                               stringsAsFactors = FALSE) |>
                      setNames(c("scale", scale_ids)),
                    sprintf("%s_%s.csv", c(cor = "scale_cor",
                                           corrected = "scale_cor_corrected")[[m]], suffix))
  }

  # d.-g. psych::alpha per scale
  tot_rows <- list(); drop_rows <- list(); item_rows <- list(); freq_rows <- list()
  for (s in scale_ids) {
    it <- scale_items[[s]]
    rev <- reverse_items[[s]]
    a <- psych::alpha(items[, it], keys = if (length(rev)) rev else NULL,
                      use = "pairwise", check.keys = FALSE)
    if (is.null(feldt_fields)) feldt_fields <<- names(a$feldt)
    tot <- unlist(a$total[1, ])
    names(tot) <- colnames(a$total)
    raw <- tot[["raw_alpha"]]; ase <- tot[["ase"]]
    extra <- c(feldt_lower = unlist(a$feldt$lower.ci)[[1]],
               feldt_alpha = unlist(a$feldt$alpha)[[1]],
               feldt_upper = unlist(a$feldt$upper.ci)[[1]],
               feldt_r_bar = unlist(a$feldt$r.bar)[[1]],
               duhachek_lower = raw - 1.96 * ase,
               duhachek_upper = raw + 1.96 * ase,
               var.r = unlist(a$var.r)[[1]],
               Unidim = unlist(a$Unidim)[[1]],
               Fit.off = unlist(a$Fit)[[1]],
               nvar = a$nvar,
               n_obs = nrow(items))
    v <- c(tot, extra)
    tot_rows[[s]] <- long_df(s, names(v), unname(v))

    keyed <- unname(item_keyed[it])
    drop <- a$alpha.drop
    drop_rows[[s]] <- data.frame(scale = s, item = it, keyed = keyed, drop,
                                 check.names = FALSE, stringsAsFactors = FALSE)
    ist <- a$item.stats
    item_rows[[s]] <- data.frame(scale = s, item = it, keyed = keyed, ist,
                                 check.names = FALSE, stringsAsFactors = FALSE)
    fr <- a$response.freq
    stopifnot(identical(rownames(fr), it))
    freq_rows[[s]] <- data.frame(scale = s, item = it, unclass(fr),
                                 check.names = FALSE, stringsAsFactors = FALSE)
  }
  write_plain_csv(do.call(rbind, tot_rows), sprintf("alpha_total_%s.csv", suffix))
  write_plain_csv(do.call(rbind, drop_rows), sprintf("alpha_drop_%s.csv", suffix))
  write_plain_csv(do.call(rbind, item_rows), sprintf("alpha_items_%s.csv", suffix))
  write_plain_csv(do.call(rbind, freq_rows), sprintf("alpha_freq_%s.csv", suffix))

  # h. psych::omega with one factor, on reverse-keyed items (7 - x)
  om_rows <- list()
  for (s in scale_ids) {
    it <- scale_items[[s]]
    kx <- items[, it]
    for (r in reverse_items[[s]]) kx[[r]] <- 7L - kx[[r]]
    o <- suppressWarnings(suppressMessages(
      psych::omega(kx, nfactors = 1, plot = FALSE)))
    sl <- o$schmid$sl
    stopifnot(identical(rownames(sl), it), all(o$key == 1))
    # minres criterion at psych's solution, computed here (not a psych element):
    # sum of squared lower-triangle residuals of the pairwise correlation matrix.
    Rpw <- cor(kx, use = "pairwise")
    res <- (Rpw - tcrossprod(sl[, "g"]))[lower.tri(Rpw)]
    scale_level <- c(omega.tot = o$omega.tot, alpha = o$alpha, G6 = o$G6,
                     omega_h = o$omega_h, omega.lim = o$omega.lim, ECV = unname(o$ECV),
                     minres_criterion = sum(res^2))
    om_rows[[paste0(s, "_scale")]] <-
      long_df(s, names(scale_level), unname(scale_level), item = "")
    om_rows[[paste0(s, "_items")]] <- rbind(
      long_df(s, "loading", unname(sl[, "g"]), item = it),
      long_df(s, "h2", unname(sl[, "h2"]), item = it),
      long_df(s, "u2", unname(sl[, "u2"]), item = it))
  }
  write_plain_csv(do.call(rbind, om_rows), sprintf("omega_%s.csv", suffix))
  invisible(NULL)
}

run_set(items_all, "all")
run_set(items_complete, "complete")

session_lines <- c(session_lines,
                   paste0("names(psych::alpha(...)$feldt): ",
                          paste(feldt_fields, collapse = ", ")))

# 4. careless indices on all 2800 rows, raw (unkeyed) items in bfi column order ----
ls_out <- longstring(items_all, avg = TRUE)
irv_out <- irv(items_all)
mahad_out <- mahad(items_all, plot = FALSE, flag = FALSE)
eo_out <- suppressWarnings(evenodd(items_all, factors = c(5, 5, 5, 5, 5), diag = TRUE))
psychsyn_seed <- 20240601L
set.seed(psychsyn_seed)
ps_out <- psychsyn(items_all, critval = 0.60, diag = TRUE)
write_plain_csv(data.frame(candidate_id = rownames(items_all),
                           longstring = ls_out$longstr,
                           longstring_avg = ls_out$avgstr,
                           irv = irv_out,
                           mahad = mahad_out,
                           evenodd = eo_out$eo_cor,
                           psychsyn = ps_out$cor,
                           stringsAsFactors = FALSE),
                "careless_bfi.csv")

# Supplement: psychsyn details. With critval 0.60 only one bfi item pair qualifies
# (N1-N2), so every psychsyn value above is NA (careless needs > 2 answered pairs).
# critval 0.40 (13 pairs) is added so that the non-trivial path is tested too.
detail <- list()
pair_rows <- list()
for (cv in c(0.60, 0.40)) {
  pairs <- psychsyn_pairs(items_all, cv)
  pair_rows[[as.character(cv)]] <- data.frame(
    critval = format(cv, nsmall = 2), item_1 = item_names[pairs$i], item_2 = item_names[pairs$j], r = pairs$r,
    stringsAsFactors = FALSE)
  set.seed(psychsyn_seed)
  with_rs <- psychsyn(items_all, critval = cv, diag = TRUE, resample_na = TRUE)
  no_rs <- psychsyn(items_all, critval = cv, diag = TRUE, resample_na = FALSE)
  detail[[as.character(cv)]] <- data.frame(
    candidate_id = rownames(items_all), critval = format(cv, nsmall = 2), n_pairs = as.integer(no_rs$numPairs),
    psychsyn_noresample = no_rs$cor, psychsyn_resample = with_rs$cor,
    resampled = no_rs$numPairs > 2 & is.na(no_rs$cor),   # resampling was tried
    stringsAsFactors = FALSE)
}
stopifnot(identical(detail[["0.6"]]$psychsyn_resample, ps_out$cor))
write_plain_csv(do.call(rbind, detail), "careless_bfi_psychsyn.csv")
write_plain_csv(do.call(rbind, pair_rows), "careless_bfi_psychsyn_pairs.csv")
write_plain_csv(data.frame(candidate_id = rownames(items_all),
                           evenodd_n_usable_factors = as.integer(eo_out$eo_missing),
                           stringsAsFactors = FALSE),
                "careless_bfi_evenodd_diag.csv")

session_lines <- c(session_lines,
                   paste0("psychsyn RNG seed: set.seed(", psychsyn_seed, ")"))
con <- file("r_session.txt", open = "wb"); writeLines(session_lines, con, sep = "\n"); close(con)
cat("done\n")
