# Reading and writing for the oracle scripts (sourced by each): data sets at 17 significant digits,
# so R and awaken read the same numbers, and JSON without jsonlite (not in Debian's r-base-core); the
# scripts' shared command line.
#
#   here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
#   source(file.path(here, "oracle_io.R"))

# the command line of the oracles on the shared data sets, `Rscript SCRIPT OUTPUT.json [DATA_DIR]`:
# list(output, data_dir), data_dir defaulting to tests/data/survival
oracle_arguments <- function(script) {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args) < 1) stop(paste0("usage: Rscript ", script, " OUTPUT.json [DATA_DIR]"))
  list(output = args[1], data_dir = if (length(args) >= 2) args[2] else file.path("tests", "data", "survival"))
}

# directory/name.csv (the calling script's data_dir by default) as a data frame
read_data <- function(name, directory = data_dir) read.csv(file.path(directory, paste0(name, ".csv")))

# frame -> directory/name.csv (the calling script's data_dir by default), doubles at 17 significant digits (the CSV is the data, not a rounding of it)
write_data <- function(frame, name, directory = data_dir) {
  out <- frame
  for (column in names(out)) {
    if (is.double(out[[column]])) out[[column]] <- sprintf("%.17g", out[[column]])
  }
  write.csv(out, file.path(directory, paste0(name, ".csv")), row.names = FALSE, quote = FALSE)
}

# named lists -> objects; vectors -> arrays (also of length 0 or 1); NA and NaN -> null; +-Inf ->
# Infinity (Python's json reads it); strings escaped
to_json <- function(x) {
  if (is.list(x)) {
    keys <- names(x)
    body <- vapply(seq_along(x), function(i) paste0('"', keys[i], '": ', to_json(x[[i]])), "")
    return(paste0("{", paste(body, collapse = ", "), "}"))
  }
  if (length(x) == 0) return("[]")
  if (is.character(x)) {
    escaped <- gsub('"', '\\\\"', gsub("\\\\", "\\\\\\\\", gsub("\n", " ", x)))
    return(paste0("[", paste0('"', escaped, '"', collapse = ", "), "]"))
  }
  if (is.logical(x) && !all(is.na(x))) {
    return(paste0("[", paste(ifelse(is.na(x), "null", ifelse(x, "true", "false")), collapse = ", "), "]"))
  }
  x <- as.numeric(x)
  values <- ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "Infinity", "-Infinity"),
                                            sprintf("%.17g", x)))
  paste0("[", paste(values, collapse = ", "), "]")
}

# the whole result at once: written beside the output and renamed, never half a file
write_json <- function(x, output) {
  temporary <- paste0(output, ".part")
  writeLines(to_json(x), temporary)
  invisible(file.rename(temporary, output))
}
