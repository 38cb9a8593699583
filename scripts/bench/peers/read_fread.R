# read_fread.R -- the R data.table side of scripts/bench-ingest.
#
#   Rscript read_fread.R CSV THREADS [COL,COL,...]
#
# Reads CSV with data.table::fread(nThread = THREADS) (types inferred; with
# a list of columns, select= keeps only those) and prints one line:
# "wall_s cpu_s rows", the read call's own wall-clock and CPU seconds (R's
# start-up and the package load left out; CPU summed over threads).
suppressMessages(library(data.table))
a <- commandArgs(TRUE)
sel <- if (length(a) > 2 && nchar(a[3]) > 0) strsplit(a[3], ",")[[1]] else NULL
t0 <- proc.time()
d <- suppressWarnings(fread(a[1], nThread = as.integer(a[2]), select = sel,
                             showProgress = FALSE))
dt <- proc.time() - t0
cat(sprintf("%.4f %.4f %d\n", dt[["elapsed"]],
            dt[["user.self"]] + dt[["sys.self"]], nrow(d)))
