#!/usr/bin/env bash
# Writes one of r-cran-mlbench's data sets as CSV (header row, the class in
# the last column "Class"), for experiments/tables.ts and for trying imix on a
# real table:  scripts/mlbench-csv.sh DNA experiments/data   -> experiments/data/dna.csv
# Needs Debian's r-cran-mlbench (apt-get install r-cran-mlbench; it brings Rscript).
# DNA's 180 features are 0/1 factors in R; they are written as the integers 0 and 1.
set -euo pipefail
name=${1:?usage: scripts/mlbench-csv.sh <DNA|Shuttle|...> [out-dir]}
out=${2:-experiments/data}
mkdir -p "$out"
file="$out/$(echo "$name" | tr '[:upper:]' '[:lower:]').csv"
Rscript -e "
  suppressMessages(library(mlbench))
  data(list = '$name', envir = environment())
  d <- get('$name')
  for (i in seq_along(d)) if (names(d)[i] != 'Class' && is.factor(d[[i]]) && all(levels(d[[i]]) %in% c('0', '1')))
    d[[i]] <- as.integer(as.character(d[[i]]))
  write.csv(d, '$file', row.names = FALSE)
"
echo "$file: $(($(wc -l < "$file") - 1)) rows"
