# R psych scoreFast on the same matrix as benchmarks/bench_scoring.py (issue 2).
# Make the CSV first:  .venv/bin/python benchmarks/bench_scoring.py --save /tmp/bench1m.csv
# Then:               Rscript benchmarks/bench_scoring.R /tmp/bench1m.csv
args <- commandArgs(trailingOnly = TRUE)
x <- as.matrix(read.csv(args[1]))
ids <- colnames(x)
scales <- c(acc = "accommodator", cmp = "competitor", ctl = "controller", emp = "empathizer",
            hwk = "hard_worker", inn = "innovator", rck = "rock")
rev <- c("03", "06", "09")  # rep-types reverse-keys items 03, 06 and 09 of every scale
keys <- lapply(names(scales), function(p) {
  it <- ids[startsWith(ids, p)]
  ifelse(substr(it, 4, 5) %in% rev, paste0("-", it), it)
})
names(keys) <- scales
times <- replicate(3, system.time(psych::scoreFast(keys, x, impute = "none", min = 1, max = 5))["elapsed"])
cat(sprintf("psych %s scoreFast on %d x %d: min %.3f s, median %.3f s\n",
            packageVersion("psych"), nrow(x), ncol(x), min(times), median(times)))
