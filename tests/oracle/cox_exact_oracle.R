# Oracle values for the exact partial likelihood (awaken.survival._exact), computed by R's
# coxph(ties = "exact").
#
#   Rscript tests/oracle/cox_exact_oracle.R OUTPUT.json [DATA_DIR]
#
# Reads ties.csv, lung.csv and mgus2.csv from DATA_DIR (default tests/data/survival; they are written
# by survival_oracle.R and cox_features_oracle.R) and writes aml.csv there first from R's own copy, at
# 17 significant digits, so both sides read identical numbers. The committed fixture
# tests/data/survival/cox_exact_oracle.json is this script's output; tests/test_cox_exact.py re-runs
# it live when Rscript is on the PATH and compares the two.
#
# R fits ties = "exact" with two C routines: coxexact.c (right-censored data: the Gail-Lubin-Rubinstein
# recursion, memoised along the risk set) and agexact.c ((start, stop] data: it enumerates every
# d-subset of the risk set, C(|R|, d) of them, so it finishes only when that is small). The
# left-truncated fits on the whole ties data set (10^27 subsets) are therefore done as R's clogit does
# them: one matched set per event time holding the rows at risk then, the cases being its deaths, fitted
# by coxexact - the same likelihood, term by term. agexact itself is run on a subset small enough for
# it (ties_counting_subset), and the same subset is fitted through the matched sets too.
#
# Every fit is converged to eps = 1e-12 (the relative change in the log likelihood), so what is compared
# is the estimate, not where an iteration happened to stop.
suppressPackageStartupMessages(library(survival))

here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
source(file.path(here, "oracle_io.R"))  # oracle_arguments(), read_data(), write_data(), write_json()
arguments <- oracle_arguments("cox_exact_oracle.R")
output <- arguments$output
data_dir <- arguments$data_dir

# acute myelogenous leukaemia: 23 patients, tied times; x = 1 for "Nonmaintained"
aml_data <- survival::aml
aml_data$x <- as.integer(aml_data$x == "Nonmaintained")
write_data(aml_data, "aml")
ties <- read_data("ties")
lung <- read_data("lung")
mgus <- read_data("mgus2")
aml <- read_data("aml")

tight <- coxph.control(eps = 1e-12, toler.chol = 1e-14, toler.inf = 1e-6, iter.max = 100)

max_tied <- function(time, event, group = rep(1L, length(time))) {
  max(table(paste(group, time)[event == 1]))
}

exact_result <- function(fit, tied) {
  list(
    coef = unname(coef(fit)),
    se = unname(sqrt(diag(fit$var))),
    loglik = unname(fit$loglik),
    score = unname(fit$score),
    iter = fit$iter,
    n_event = fit$nevent,
    max_tied = tied,
    names = names(coef(fit))
  )
}

# (start, stop] data as matched sets: one per event time (and stratum), the rows at risk then
matched_sets <- function(frame, by_group) {
  group <- if (by_group) frame$group else rep(1L, nrow(frame))
  sets <- list()
  for (g in sort(unique(group))) {
    in_group <- group == g
    for (t in sort(unique(frame$stop[in_group & frame$event == 1]))) {
      at <- which(in_group & frame$start < t & frame$stop >= t)
      sets[[length(sets) + 1]] <- data.frame(
        x1 = frame$x1[at], x2 = frame$x2[at],
        case = as.integer(frame$stop[at] == t & frame$event[at] == 1), set = length(sets) + 1
      )
    }
  }
  do.call(rbind, sets)
}
fit_matched <- function(frame, by_group) {
  sets <- matched_sets(frame, by_group)
  coxph(Surv(rep(1, nrow(sets)), case) ~ x1 + x2 + strata(set), data = sets, ties = "exact", control = tight)
}

result <- list()

# ---------------------------------------------------------------- the ties data (integer times, heavy ties)
fit <- coxph(Surv(stop, event) ~ x1 + x2, data = ties, ties = "exact", control = tight)
result$ties_right <- exact_result(fit, max_tied(ties$stop, ties$event))
# what R does around an exact fit: martingale residuals and the baseline hazard are Breslow's
# (coxmart2 / agmart with method 0, survfit ctype 1), evaluated at the exact estimate
result$ties_right$martingale <- unname(residuals(fit, type = "martingale"))
hazard <- basehaz(fit, centered = FALSE)
result$ties_right$basehaz_time <- hazard$time
result$ties_right$basehaz <- hazard$hazard

fit <- coxph(Surv(stop, event) ~ x1 + x2 + strata(group), data = ties, ties = "exact", control = tight)
result$ties_right_strata <- exact_result(fit, max_tied(ties$stop, ties$event, ties$group))

subset <- ties[ties$id <= 150, ]
fit <- coxph(Surv(start, stop, event) ~ x1 + x2 + strata(group), data = subset, ties = "exact", control = tight)
result$ties_counting_subset <- exact_result(fit, max_tied(subset$stop, subset$event, subset$group))
result$ties_counting_subset$martingale <- unname(residuals(fit, type = "martingale"))
fit <- fit_matched(subset, by_group = TRUE)
result$ties_counting_subset_sets <- exact_result(fit, max_tied(subset$stop, subset$event, subset$group))

fit <- fit_matched(ties, by_group = FALSE)
result$ties_counting <- exact_result(fit, max_tied(ties$stop, ties$event))
fit <- fit_matched(ties, by_group = TRUE)
result$ties_counting_strata <- exact_result(fit, max_tied(ties$stop, ties$event, ties$group))

# ---------------------------------------------------------------- R's data sets
fit <- coxph(Surv(time, status) ~ age + sex + ph_ecog, data = lung, ties = "exact", control = tight)
result$lung <- exact_result(fit, max_tied(lung$time, lung$status))
fit <- coxph(Surv(time, status) ~ age + sex + offset(karno_offset), data = lung, ties = "exact", control = tight)
result$lung_offset <- exact_result(fit, max_tied(lung$time, lung$status))

fit <- coxph(Surv(time, status) ~ x, data = aml, ties = "exact", control = tight)
result$aml <- exact_result(fit, max_tied(aml$time, aml$status))

# overall survival in months: 963 deaths at 218 distinct times, up to 42 at one
fit <- coxph(Surv(futime, death) ~ age + male, data = mgus, ties = "exact", control = tight)
result$mgus2 <- exact_result(fit, max_tied(mgus$futime, mgus$death))

# ---------------------------------------------------------------- what R refuses with ties = "exact"
refusal <- function(expression) {
  outcome <- tryCatch({ force(expression); "accepted" }, error = function(e) conditionMessage(e))
  gsub('"', "'", outcome)
}
fit <- coxph(Surv(time, status) ~ x, data = aml, ties = "exact")
aml$id <- seq_len(nrow(aml))
result$refusals <- list(
  weights = refusal(coxph(Surv(time, status) ~ x, data = aml, ties = "exact", weights = rep(2, nrow(aml)))),
  unit_weights = refusal(coxph(Surv(time, status) ~ x, data = aml, ties = "exact", weights = rep(1, nrow(aml)))),
  martingale = refusal(residuals(fit, type = "martingale")),
  deviance = refusal(residuals(fit, type = "deviance")),
  score = refusal(residuals(fit, type = "score")),
  schoenfeld = refusal(residuals(fit, type = "schoenfeld")),
  dfbeta = refusal(residuals(fit, type = "dfbeta")),
  cluster = refusal(coxph(Surv(time, status) ~ x, data = aml, ties = "exact", cluster = id)),
  cox_zph = refusal(cox.zph(fit)),
  survfit = refusal(survfit(fit))
)

result$versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

write_json(result, output)
