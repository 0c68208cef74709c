# Oracle values for awaken's Cox features beyond the fit: predicted survival curves (survfit.coxph),
# the baseline hazard (basehaz) and offsets, on R's own data sets (lung, veteran, heart).
#
#   Rscript tests/oracle/cox_features_oracle.R OUTPUT.json [DATA_DIR]
#
# Writes lung.csv and veteran.csv to DATA_DIR (default tests/data/survival) from R's copies, at 17
# significant digits, reads heart.csv from there (written by survival_oracle.R), and writes the
# results as JSON. tests/data/survival/cox_features_oracle.json is this script's output; the tests
# re-run it live when Rscript is on the PATH and compare.
suppressPackageStartupMessages(library(survival))

here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
source(file.path(here, "oracle_io.R"))  # oracle_arguments(), read_data(), write_data(), write_json()
arguments <- oracle_arguments("cox_features_oracle.R")
output <- arguments$output
data_dir <- arguments$data_dir


lung_data <- survival::lung[, c("inst", "time", "status", "age", "sex", "ph.ecog", "ph.karno", "wt.loss")]
lung_data <- lung_data[complete.cases(lung_data), ]
lung_data$status <- as.integer(lung_data$status == 2)
names(lung_data) <- c("inst", "time", "status", "age", "sex", "ph_ecog", "ph_karno", "wt_loss")
set.seed(17)
lung_data$w <- round(runif(nrow(lung_data), 0.2, 3), 3)
lung_data$karno_offset <- log(lung_data$ph_karno / 10)
write_data(lung_data, "lung")
veteran_data <- survival::veteran
veteran_data$celltype <- as.character(veteran_data$celltype)
write_data(veteran_data, "veteran")

lung_data <- read.csv(file.path(data_dir, "lung.csv"))
veteran_data <- read.csv(file.path(data_dir, "veteran.csv"))
heart_data <- read.csv(file.path(data_dir, "heart.csv"))

control <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-13)

curves <- function(sf, conf_types = c("log", "log-log", "plain", "logit")) {
  out <- list(time = sf$time, n_risk = sf$n.risk, n_event = sf$n.event, n_censor = sf$n.censor,
              survival = as.vector(sf$surv), cumulative_hazard = as.vector(sf$cumhaz),
              std_err = as.vector(sf$std.err), strata = if (is.null(sf$strata)) NULL else as.vector(sf$strata))
  for (ct in conf_types) {
    s2 <- update(sf, conf.type = ct)
    out[[paste0("lower_", ct)]] <- as.vector(s2$lower)
    out[[paste0("upper_", ct)]] <- as.vector(s2$upper)
  }
  out
}
fit_values <- function(fit) {
  list(coef = unname(coef(fit)), se = unname(sqrt(diag(fit$var))), loglik = fit$loglik, means = unname(fit$means))
}

results <- list()

lung_new <- data.frame(age = c(50, 65, 80), sex = c(1, 2, 1), ph_ecog = c(0, 1, 3))
for (ties in c("efron", "breslow")) {
  fit <- coxph(Surv(time, status) ~ age + sex + ph_ecog, data = lung_data, ties = ties, control = control)
  sf <- survfit(fit, newdata = lung_new, conf.type = "log")
  results[[paste0("lung_", ties)]] <- c(fit_values(fit), curves(sf))
  results[[paste0("lung_", ties, "_default")]] <- curves(survfit(fit), "log")
  results[[paste0("lung_", ties, "_basehaz")]] <- list(centered = basehaz(fit)$hazard,
                                                         uncentered = basehaz(fit, centered = FALSE)$hazard)
  at <- summary(survfit(fit, newdata = lung_new), times = c(30, 100, 365.25, 500, 1000), extend = TRUE)
  results[[paste0("lung_", ties, "_at_times")]] <- list(time = at$time, survival = as.vector(at$surv),
                                                        std_err = as.vector(at$std.chaz))
}

# fractional case weights: R's robust variance by default, and the curve uses it
fit <- coxph(Surv(time, status) ~ age + sex + ph_ecog, data = lung_data, weights = w, control = control)
results$lung_weighted <- c(fit_values(fit), curves(survfit(fit, newdata = lung_new)))

# an offset, in the model and in the new data
fit <- coxph(Surv(time, status) ~ age + sex + offset(karno_offset), data = lung_data, control = control)
results$lung_offset <- c(fit_values(fit),
                         curves(survfit(fit, newdata = data.frame(age = c(55, 70), sex = c(1, 2),
                                                                  karno_offset = log(c(9, 6)))), "log"))
results$lung_offset_default <- curves(survfit(fit), "log")

# strata: one baseline per cell type; a new row gets its own stratum's curve
fit <- coxph(Surv(time, status) ~ karno + age + trt + strata(celltype), data = veteran_data, ties = "breslow",
             control = control)
vet_new <- data.frame(karno = c(60, 80), age = c(60, 50), trt = c(1, 2), celltype = c("large", "squamous"))
results$veteran_strata <- c(fit_values(fit), curves(survfit(fit, newdata = vet_new), "log"))
results$veteran_strata_default <- curves(survfit(fit), "log")
results$veteran_strata_basehaz <- list(centered = basehaz(fit)$hazard, uncentered = basehaz(fit, centered = FALSE)$hazard)

# (start, stop] data with a cluster: robust variance, the curve uses it
fit <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart_data, cluster = id,
             control = control)
results$heart_cluster <- c(fit_values(fit), curves(survfit(fit, newdata = data.frame(age = c(-10, 5),
                                                   year = c(2, 4), surgery = c(0, 1), transplant = c(1, 0))), "log"))

results$versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

write_json(results, output)
