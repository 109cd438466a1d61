# careless_definitions.R
#
# Behaviour-equivalent re-implementations of five functions of the R package
# 'careless' version 1.2.2 (CRAN, 2023-10-01; https://github.com/ryentes/careless):
#   longstring(), irv(), mahad(), evenodd(), psychsyn()
# 'careless' cannot be installed in the environment that made the repprofile
# reference fixtures (no CRAN access), so these definitions stand in for it.
# They were written from a reading of the package sources (GitHub cran/careless and
# ryentes/careless: mahad, evenodd, psychsyn as released in 1.2.1, which the CRAN MD5
# files show unchanged in 1.2.2; longstring as in 1.2.0, whose code is unchanged
# since; irv from the 1.2.0 code plus the na.rm argument added in 1.2.1, as
# documented in the 1.2.2 manual) and follow the same computations step by step,
# including the same random-number use in psychsyn(), so that they return the same
# values as careless 1.2.2 for the same input. They are written anew, not copied;
# the roxygen documentation, plots and some argument checks are left out.
# See README.md ("Careless responding indices") for how each one treats missing values.
#
# Original work: careless, Copyright (c) 2016 Richard Yentes; authors Richard Yentes
# and Francisco Wilhelm. Licensed under the MIT License:
#
#   Permission is hereby granted, free of charge, to any person obtaining a copy of
#   this software and associated documentation files (the "Software"), to deal in
#   the Software without restriction, including without limitation the rights to
#   use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
#   the Software, and to permit persons to whom the Software is furnished to do so,
#   subject to the following conditions:
#
#   The above copyright notice and this permission notice shall be included in all
#   copies or substantial portions of the Software.
#
#   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
#   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
#   FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
#   COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
#   IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
#   CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
#
# References: Johnson (2005) for longstring and even-odd; Dunn, Heggestad, Shanock
# & Theilgard (2018) and Marjanovic et al. (2015) for IRV; Meade & Craig (2012) for
# Mahalanobis distance and psychometric synonyms; Curran (2016) for a review.

careless_version <- "1.2.2"

# Longstring: per row, the run-length encoding (base::rle) of the responses in
# column order. longstr = longest run, avgstr = mean run length.
# rle() never joins NA values (NA == NA is NA), so each missing answer is a run of
# length 1 that breaks the run around it, and it counts as a run in avgstr.
longstring <- function(x, avg = FALSE) {
  m <- as.matrix(x)                      # apply() on a data frame does the same
  runs <- lapply(seq_len(nrow(m)), function(i) rle(m[i, ])$lengths)
  out <- data.frame(longstr = vapply(runs, max, numeric(1)),
                    avgstr  = vapply(runs, mean, numeric(1)))
  if (avg) out else out[, "longstr"]
}

# IRV: per-row sample standard deviation (n - 1 denominator) of the responses.
# careless >= 1.2.1: na.rm = TRUE by default, so the SD is over answered items
# (NA when fewer than two are answered). split = TRUE adds the SD within
# num.split consecutive column blocks made by cut(seq_along(columns), num.split).
irv <- function(x, na.rm = TRUE, split = FALSE, num.split = 3) {
  m <- as.matrix(x)
  total <- apply(m, 1, stats::sd, na.rm = na.rm)
  if (!split) return(total)
  block <- cut(seq_len(ncol(m)), num.split, labels = FALSE)
  parts <- vapply(seq_len(num.split), function(b)
    apply(m[, block == b, drop = FALSE], 1, stats::sd, na.rm = na.rm),
    numeric(nrow(m)))
  parts <- matrix(parts, nrow = nrow(m))
  colnames(parts) <- paste0("irv", seq_len(num.split))
  out <- data.frame(total, parts)
  colnames(out)[1] <- "irvTotal"
  out
}

# Mahalanobis distance as returned by careless::mahad: the SQUARED distance D^2
# (the output column is named d_sq), computed by psych::outlier() on the rows that
# have at least one answer. Rows with no answer at all get NA.
mahad <- function(x, plot = TRUE, flag = FALSE, confidence = 0.99, na.rm = TRUE) {
  if (!na.rm && anyNA(x))
    stop("Some values are NA. Mahalanobis distance was not computed.\n",
         "Use na.rm = TRUE to use available cases.", call. = FALSE)
  all_missing <- apply(x, 1, function(r) all(is.na(r)))
  if (any(all_missing))
    warning("Some cases contain only NA values. The Mahalanobis distance will be ",
            "calculated using available cases.", call. = FALSE)
  d2 <- as.numeric(psych::outlier(x[!all_missing, ], plot, bad = 0, na.rm = na.rm))
  d_sq <- rep(NA_real_, nrow(x))
  d_sq[!all_missing] <- d2
  if (flag) {
    return(data.frame(d_sq = d_sq,
                      flagged = d_sq > stats::qchisq(confidence, ncol(x))))
  }
  d_sq
}

# Even-odd consistency (careless >= 1.2.0 sign: higher = more careless).
# factors gives the number of items of each factor; the items of a factor must be
# contiguous columns, in the order given. For each row and factor, the mean of the
# items at even positions (2nd, 4th, ...) and at odd positions (1st, 3rd, ...)
# within the factor, with na.rm = TRUE (NaN when a half has no answer). Then the
# Pearson correlation across factors of the even and odd means, over factors where
# both are available ("pairwise.complete.obs"), the Spearman-Brown step-up
# 2r / (1 + r), floored at -1, and finally the sign is flipped.
# NOTE (faithful to careless): positions are taken from colnames() of the one-row
# slice x[i, cols]; that works for a data frame. For a matrix the slice is a plain
# vector with no colnames, and careless then uses only the first two items of each
# factor (odd = 1st item, even = 2nd item). Pass a data frame.
evenodd <- function(x, factors, diag = FALSE) {
  warning("Computation of even-odd has changed for consistency of interpretation ",
          "with other indices (careless 1.2.0): a higher score now indicates a ",
          "greater likelihood of careless responding.")
  if (length(factors) == 1)
    stop("even-odd needs more than one factor", call. = FALSE)
  if (sum(factors) > ncol(x))
    stop("The number of items specified by 'factors' exceeds the number of columns in 'x'.",
         call. = FALSE)
  if (sum(factors) != ncol(x))
    warning("The number of items specified by 'factors' does not match the number ",
            "of columns in 'x'.", call. = FALSE)
  ends <- cumsum(factors)
  starts <- ends - factors + 1
  halves <- lapply(seq_len(nrow(x)), function(i) {
    f <- matrix(NA_real_, length(factors), 2)
    for (j in seq_along(factors)) {
      s <- x[i, starts[j]:ends[j]]
      pos <- seq(1:length(colnames(s)))   # c(1, 0) when s has no colnames (matrix)
      f[j, 1] <- mean(t(s[which(pos %% 2 == 0)]), na.rm = TRUE)
      f[j, 2] <- mean(t(s[which(pos %% 2 == 1)]), na.rm = TRUE)
    }
    f
  })
  n_usable <- vapply(halves, function(f) sum(!is.na(rowSums(f))), integer(1))
  zero_sd <- vapply(halves, function(f) any(apply(f, 2, stats::sd) == 0, na.rm = TRUE),
                    logical(1))
  if (any(zero_sd, na.rm = TRUE))
    warning("One or more observations have zero variance in even and/or odd values. ",
            "This results in NA values for these observations.", call. = FALSE)
  eo <- vapply(halves, function(f) {
    r <- suppressWarnings(stats::cor(f[, 1], f[, 2], use = "pairwise.complete.obs"))
    r <- (2 * r) / (1 + r)
    if (!is.na(r) && r < -1) r <- -1
    r
  }, numeric(1))
  eo <- -eo
  if (diag) data.frame(eo_cor = eo, eo_missing = n_usable) else eo
}

# Item pairs for psychometric synonyms (antonyms): from the pairwise-complete
# correlation matrix of all columns, the strictly-lower-triangle pairs with
# r > critval (r < -critval), listed in column-major order of that triangle
# (first column index j ascending, then row index i > j ascending).
# Returned as a data frame of column indices (i = row item, j = column item).
psychsyn_pairs <- function(x, critval = 0.60, anto = FALSE) {
  critval <- abs(critval)
  r <- stats::cor(as.matrix(x), use = "pairwise.complete.obs")
  p <- ncol(r)
  ij <- which(lower.tri(r), arr.ind = TRUE)          # column-major order
  ij <- ij[order(ij[, "col"], ij[, "row"]), , drop = FALSE]
  v <- r[ij]
  keep <- if (anto) which(v < -critval) else which(v > critval)
  if (length(keep) == 0)
    stop(if (anto) "No Psychometric Antonyms found." else "No Psychometric Synonyms found.")
  data.frame(i = ij[keep, "row"], j = ij[keep, "col"], r = v[keep])
}

# Psychometric synonym score: per row, the Pearson correlation between the answers
# to the first and to the second item of each selected pair, over pairs where both
# are answered. It is computed only when MORE THAN TWO pairs are fully answered;
# otherwise NA. If the correlation is NA (one side has zero variance) and
# resample_na = TRUE, up to 10 times the two values within each pair are put in
# random order (sample()) and the correlation is recomputed; the result therefore
# depends on the RNG state for such rows.
psychsyn <- function(x, critval = 0.60, anto = FALSE, diag = FALSE, resample_na = TRUE) {
  m <- as.matrix(x)
  pairs <- psychsyn_pairs(m, critval, anto)
  res <- t(vapply(seq_len(nrow(m)), function(k) {
    v1 <- as.numeric(m[k, pairs$i])
    v2 <- as.numeric(m[k, pairs$j])
    n_pairs <- sum(!(is.na(v1) | is.na(v2)))
    val <- NA_real_
    if (n_pairs > 2) {
      vals <- cbind(v1, v2)
      pcor <- function(z) suppressWarnings(
        stats::cor(z, use = "pairwise.complete.obs", method = "pearson")[1, 2])
      val <- pcor(vals)
      if (resample_na) {
        tries <- 1
        while (tries <= 10 & is.na(val)) {
          vals <- t(apply(vals, 1, sample, 2, replace = FALSE))
          val <- pcor(vals)
          tries <- tries + 1
        }
      }
    }
    c(n_pairs, val)
  }, numeric(2)))
  out <- data.frame(numPairs = res[, 1], cor = res[, 2])
  if (diag) out else out$cor
}
