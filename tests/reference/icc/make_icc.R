# Reference values for tests/test_icc.py: R psych ICC() on two rating tables.
# Run from the repository root:  Rscript tests/reference/icc/make_icc.R
# Writes tests/reference/icc/<table>_psych.csv (the 6 x 8 results table, 17 digits, lmer =
# FALSE), <table>_psych_lmer.csv (psych's default lmer = TRUE), <table>_ratings.csv
# and tests/reference/icc/icc_R_output.txt (the printed output and sessionInfo).
suppressPackageStartupMessages(library(psych))
dir <- "tests/reference/icc"
# Table 1: Shrout & Fleiss (1979) Table 2, 6 targets x 4 judges (also psych's ICC example).
sf <- matrix(c(9, 2, 5, 8,
               6, 1, 3, 2,
               8, 4, 6, 8,
               7, 1, 2, 6,
               10, 5, 6, 9,
               6, 2, 4, 7), ncol = 4, byrow = TRUE)
# Table 2: 10 SJT options x 5 experts; experts 1-4 on a 1-6 scale, expert 5 rates
# every option 1.5 points above expert 1 (a strong rater effect).
sme <- matrix(c(5, 5, 4, 5, 6.5,
                2, 3, 2, 2, 3.5,
                4, 4, 5, 4, 5.5,
                1, 2, 1, 2, 2.5,
                3, 3, 3, 4, 4.5,
                6, 5, 6, 6, 7.5,
                2, 2, 3, 2, 3.5,
                4, 5, 4, 3, 5.5,
                3, 2, 2, 3, 4.5,
                5, 6, 5, 5, 6.5), ncol = 5, byrow = TRUE)
tables <- list(shrout_fleiss = sf, rater_effect = sme)
sink(file.path(dir, "icc_R_output.txt"))
for (name in names(tables)) {
  x <- tables[[name]]
  write.csv(x, file.path(dir, paste0(name, "_ratings.csv")), row.names = FALSE)
  for (lmer in c(FALSE, TRUE)) {
    r <- ICC(x, lmer = lmer)
    cat("==== ", name, " lmer =", lmer, "\n")
    print(r)
    print(r$results, digits = 17)
    cat("MSB MSW MSJ MSE:", format(c(r$stats[3, 1], r$MSW, r$stats[3, 2], r$stats[3, 3]), digits = 17), "\n")
  }
  for (lmer in c(FALSE, TRUE)) {  # the ANOVA, and psych's default (lme4 variance components)
    res <- ICC(x, lmer = lmer)$results
    out <- data.frame(type = res$type, icc = res$ICC, f = res$F, df1 = res$df1, df2 = res$df2,
                      p = res$p, lower = res[["lower bound"]], upper = res[["upper bound"]])
    suffix <- if (lmer) "_psych_lmer.csv" else "_psych.csv"
    write.csv(format(out, digits = 17), file.path(dir, paste0(name, suffix)), row.names = FALSE)
  }
}
print(sessionInfo())
sink()
