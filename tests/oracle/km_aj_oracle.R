# Oracle values for awaken's Kaplan-Meier and Aalen-Johansen estimators, computed by R's survival
# (survfit: Kaplan-Meier with Greenwood and infinitesimal-jackknife errors, multi-state
# Aalen-Johansen with its jackknife std.err) and cmprsk (cuminc: Gray's variance).
#
#   Rscript tests/oracle/km_aj_oracle.R OUTPUT.json [DATA_DIR]
#
# Reads mgus2.csv from DATA_DIR (default tests/data/survival; written by survival_oracle.R),
# builds the other data sets here with a fixed seed and writes them to DATA_DIR first (17
# significant digits, so both sides read identical numbers):
#
#   km_aj_cohort.csv  700 subjects in 3 groups, entry after time 0 (left truncation), follow-up
#                     split into up to 3 rows per subject, whole-day times (ties), non-integer
#                     case weights constant within a subject (some 0) and a second weight
#                     column w_row that varies between a subject's rows;
#   km_aj_edges.csv   small data sets, one per `case`, made to hit the edges: heavy ties, zero
#                     weights (also on events and on the last time), the risk set emptied by
#                     deaths and refilled by later entrants, everyone at risk dying at the last
#                     time with weights whose sums round, one subject, two subjects.
#
# The committed fixture tests/data/survival/km_aj_oracle.json is this script's output;
# tests/test_km_aj.py re-runs it live when Rscript is on the PATH and compares the two.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
source(file.path(here, "oracle_io.R"))  # oracle_arguments(), read_data(), write_data(), write_json()
arguments <- oracle_arguments("km_aj_oracle.R")
output <- arguments$output
data_dir <- arguments$data_dir

# ---------------------------------------------------------------- the cohort
set.seed(20260117)
n <- 700
group <- sample(c("A", "B", "C"), n, replace = TRUE)
entry <- round(rexp(n, 1 / 60))
rate1 <- c(A = 1 / 900, B = 1 / 600, C = 1 / 1200)[group]
t1 <- entry + ceiling(rexp(n, rate1))
t2 <- entry + ceiling(rexp(n, 1 / 1000))
censor <- entry + ceiling(runif(n, 30, 1500))
stop_time <- pmin(t1, t2, censor)
event <- ifelse(t1 == stop_time, 1L, ifelse(t2 == stop_time, 2L, 0L))
weight <- round(runif(n, 0.2, 3), 3)
weight[sample(n, 35)] <- 0
rows <- list()
for (i in seq_len(n)) {
  cuts <- sort(unique(entry[i] + ceiling(runif(sample(0:2, 1)) * (stop_time[i] - entry[i]))))
  cuts <- cuts[cuts > entry[i] & cuts < stop_time[i]]
  starts <- c(entry[i], cuts)
  stops <- c(cuts, stop_time[i])
  k <- length(starts)
  rows[[i]] <- data.frame(id = i, group = group[i], start = as.double(starts), stop = as.double(stops),
                          event = c(rep(0L, k - 1), event[i]), w = weight[i],
                          w_row = round(weight[i] * runif(k, 0.5, 1.5), 3))
}
write_data(do.call(rbind, rows), "km_aj_cohort")

# ---------------------------------------------------------------- the edges
edge <- function(case, start, stop, event, w, id = seq_along(stop)) {
  data.frame(case = case, id = id, start = as.double(start), stop = as.double(stop), event = as.integer(event),
             w = as.double(w))
}
set.seed(20260118)
m <- 300
ties <- edge("ties", 0, sample(1:6, m, replace = TRUE), sample(0:2, m, replace = TRUE, prob = c(0.3, 0.4, 0.3)),
             round(runif(m, 0.5, 2), 2))
m <- 60
zero <- edge("zero_weights", 0, c(sample(1:9, m - 3, replace = TRUE), 10, 10, 10),
             c(sample(0:2, m - 3, replace = TRUE), 1, 0, 2), c(sample(c(0, 0.7, 1, 1.9), m - 3, replace = TRUE), 0, 0, 0))
zero$w[zero$event == 1][1:2] <- 0   # events of weight 0
# every subject at risk has died by time 4; later entrants restart the risk set (S stays 0)
emptied <- edge("emptied", c(0, 0, 0, 1, 4.5, 4.5, 5, 5, 6, 2), c(1, 2, 3, 4, 6, 7, 8, 9, 9, 3.5),
                c(1, 2, 0, 1, 1, 0, 2, 1, 0, 1), c(0.3, 0.9, 1.2, 0.6, 1.1, 0.8, 0.4, 1.5, 1, 0))
# the last three at risk die together; 0.1 + 0.2 + 0.3 is not 0.6 in binary
all_die <- edge("all_die", 0, c(1, 2, 3, 4, 5, 5, 5), c(1, 0, 2, 0, 1, 2, 1), c(0.7, 0.25, 0.5, 1.3, 0.1, 0.2, 0.3))
single <- edge("single", 0, 3, 1, 1)
two <- edge("two", 0, c(2, 3), c(2, 1), c(1, 1))
write_data(rbind(ties, zero, emptied, all_die, single, two), "km_aj_edges")

mgus <- read_data("mgus2")
cohort <- read_data("km_aj_cohort")
edges <- read_data("km_aj_edges")

# ---------------------------------------------------------------- helpers
km_result <- function(fit) {
  list(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, surv = fit$surv, std_err = fit$std.err,
       strata = if (is.null(fit$strata)) length(fit$time) else unname(fit$strata))
}
aj_result <- function(fit) {
  # states: (s0), "1", "2" -- pstate and std.err of the two causes
  list(time = fit$time, n_risk = fit$n.risk[, 1], cif1 = fit$pstate[, 2], cif2 = fit$pstate[, 3],
       se1 = fit$std.err[, 2], se2 = fit$std.err[, 3],
       strata = if (is.null(fit$strata)) length(fit$time) else unname(fit$strata))
}

result <- list()

# ---------------------------------------------------------------- mgus2 (right-censored, unweighted)
mgus$state <- factor(mgus$event, levels = 0:2)
result$mgus2_aj <- aj_result(survfit(Surv(etime, state) ~ 1, data = mgus, id = id))
result$mgus2_aj_sex <- aj_result(survfit(Surv(etime, state) ~ male, data = mgus, id = id))
ci <- cuminc(mgus$etime, mgus$event, group = mgus$male)
result$mgus2_cuminc_sex <- list(time_0 = ci[["0 1"]]$time, est_0 = ci[["0 1"]]$est, var_0 = ci[["0 1"]]$var,
                                time_1 = ci[["1 1"]]$time, est_1 = ci[["1 1"]]$est, var_1 = ci[["1 1"]]$var)
result$mgus2_km_robust <- km_result(survfit(Surv(futime, death) ~ 1, data = mgus, robust = TRUE))

# ---------------------------------------------------------------- the cohort
cohort$state <- factor(cohort$event, levels = 0:2)
result$cohort_aj <- aj_result(survfit(Surv(start, stop, state) ~ group, data = cohort, weights = w, id = id))
result$cohort_aj_pooled <- aj_result(survfit(Surv(start, stop, state) ~ 1, data = cohort, weights = w, id = id))
result$cohort_km <- km_result(survfit(Surv(start, stop, event > 0) ~ 1, data = cohort, weights = w,
                                      robust = FALSE))
result$cohort_km_robust <- km_result(survfit(Surv(start, stop, event > 0) ~ 1, data = cohort, weights = w_row,
                                             id = id, robust = TRUE))

# ---------------------------------------------------------------- the edges
for (case in unique(edges$case)) {
  d <- edges[edges$case == case, ]
  d$state <- factor(d$event, levels = 0:2)
  result[[paste0(case, "_km")]] <- km_result(survfit(Surv(start, stop, event > 0) ~ 1, data = d, weights = w,
                                                     robust = FALSE))
  result[[paste0(case, "_km_robust")]] <- km_result(survfit(Surv(start, stop, event > 0) ~ 1, data = d,
                                                            weights = w, id = id, robust = TRUE))
  result[[paste0(case, "_aj")]] <- aj_result(survfit(Surv(start, stop, state) ~ 1, data = d, weights = w,
                                                     id = id))
}

result$versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                        cmprsk = as.character(packageVersion("cmprsk")))

write_json(result, output)
