# psych::alpha scale by scale on the same data as benchmarks/bench_reliability.py (issue 3).
#   .venv/bin/python benchmarks/bench_reliability.py --save /tmp/bench_rel.csv
#   Rscript benchmarks/bench_reliability.R /tmp/bench_rel.csv
args <- commandArgs(trailingOnly = TRUE)
x <- as.matrix(read.csv(args[1]))
ids <- colnames(x)
rev <- c("03", "06", "09")  # rep-types reverse-keys items 03, 06 and 09 of every scale
run <- function() {
  for (p in c("acc", "cmp", "ctl", "emp", "hwk", "inn", "rck")) {
    it <- ids[startsWith(ids, p)]
    a <- psych::alpha(x[, it], keys = it[substr(it, 4, 5) %in% rev], use = "pairwise",
                      check.keys = FALSE)
    o <- suppressWarnings(psych::omega(x[, it], nfactors = 1, plot = FALSE))
  }
}
t_alpha <- system.time(for (p in c("acc", "cmp", "ctl", "emp", "hwk", "inn", "rck")) {
  it <- ids[startsWith(ids, p)]
  psych::alpha(x[, it], keys = it[substr(it, 4, 5) %in% rev], use = "pairwise", check.keys = FALSE)
})["elapsed"]
cat(sprintf("psych %s alpha() for 7 scales on %d x %d: %.2f s\n",
            packageVersion("psych"), nrow(x), ncol(x), t_alpha))
t_all <- system.time(run())["elapsed"]
cat(sprintf("psych alpha() + omega(nfactors = 1) for 7 scales: %.2f s\n", t_all))
