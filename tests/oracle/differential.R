# R's answers on the generated edge cases of tests/differential_cases.py.
#
#   python tests/differential_cases.py DIR
#   Rscript tests/oracle/differential.R DIR OUTPUT.json
#
# For every case in DIR/manifest.csv: coxph (with the case's ties, strata, weights, cluster and
# (start, stop] form; R's defaults otherwise, including timefix and toler.inf, with eps tightened (1e-11, still above toler.chol) so
# that estimates are compared, not where an iteration stopped), its warnings, NA coefficients or
# error; cox.zph; survfit.coxph's default curve; and the Kaplan-Meier (survfit) of the data.
# tests/data/survival/differential_oracle.json is this script's output.
suppressPackageStartupMessages(library(survival))

here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
source(file.path(here, "oracle_io.R"))  # write_data(), write_json()
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript differential.R DIR OUTPUT.json")
directory <- args[1]
output <- args[2]
manifest <- read.csv(file.path(directory, "manifest.csv"), stringsAsFactors = FALSE)

# R's defaults for deciding "may be infinite" (toler.inf = sqrt(1e-9)); eps tighter for the estimates
control <- coxph.control(eps = 1e-11, toler.inf = sqrt(1e-9), iter.max = 100)

run <- function(expr) {
  warnings <- character(0)
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(message = conditionMessage(e)), class = "failed")),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(value = value, warnings = warnings)
}

truthy <- function(x) isTRUE(as.logical(x)) || identical(x, "True")

results <- list()
for (i in seq_len(nrow(manifest))) {
  case <- manifest[i, ]
  data <- read.csv(file.path(directory, paste0(case$name, ".csv")))
  covariates <- strsplit(case$covariates, " ")[[1]]
  response <- if (truthy(case$start)) "Surv(start, stop, event)" else "Surv(stop, event)"
  rhs <- paste(c(covariates, if (truthy(case$strata)) "strata(stratum)"), collapse = " + ")
  formula <- as.formula(paste(response, "~", rhs))
  args <- list(formula = formula, data = data, ties = case$ties, control = control)
  if (truthy(case$weights)) args$weights <- data$w
  if (truthy(case$cluster)) args$cluster <- data$id
  out <- list()
  # what a user sees: R's default control decides warnings, NA coefficients and errors
  defaults <- args
  defaults$control <- NULL
  fitted <- run(do.call(coxph, defaults))
  out$cox_warnings <- fitted$warnings
  if (inherits(fitted$value, "failed")) out$cox_error <- fitted$value$message
  # the estimates, converged tightly
  fitted <- run(do.call(coxph, args))
  fit <- fitted$value
  out$tight_warnings <- fitted$warnings
  if (inherits(fit, "failed")) out$tight_error <- fit$message
  if (!inherits(fit, "failed")) {
    out$coef <- unname(coef(fit))
    out$se <- unname(sqrt(diag(fit$var)))
    out$naive_se <- if (is.null(fit$naive.var)) out$se else unname(sqrt(diag(fit$naive.var)))
    out$loglik <- fit$loglik
    out$robust <- !is.null(fit$naive.var)
    usable <- !any(is.na(coef(fit))) && length(fitted$warnings) == 0 && length(out$cox_warnings) == 0
    if (truthy(case$zph) && usable) {
      zph <- run(cox.zph(fit))
      if (inherits(zph$value, "failed")) out$zph_error <- zph$value$message
      else out$zph_chisq <- unname(zph$value$table[, "chisq"])
    }
    if (usable) {
      curve <- run(survfit(fit))
      if (!inherits(curve$value, "failed")) {
        out$curve_surv <- as.vector(curve$value$surv)
        out$curve_std_err <- as.vector(curve$value$std.err)
      }
    }
  }
  if (truthy(case$km)) {
    km_response <- if (truthy(case$start)) "Surv(start, stop, event)" else "Surv(stop, event)"
    km <- run(survfit(as.formula(paste(km_response, "~ 1")), data = data,
                      weights = if (truthy(case$weights)) data$w else NULL))
    if (inherits(km$value, "failed")) out$km_error <- km$value$message
    else {
      out$km_time <- km$value$time
      out$km_surv <- km$value$surv
      out$km_std_err <- km$value$std.err
      out$km_n_risk <- km$value$n.risk
      out$km_logse <- isTRUE(km$value$logse)  # std.err of -log S (Greenwood) or of S (the jackknife)
    }
  }
  results[[case$name]] <- out
}
results$versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

write_json(results, output)
