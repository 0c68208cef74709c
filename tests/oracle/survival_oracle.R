# Oracle values for awaken.survival, computed by R's survival and cmprsk packages.
#
#   Rscript tests/oracle/survival_oracle.R OUTPUT.json [DATA_DIR]
#
# Reads the data sets from DATA_DIR (default tests/data/survival; rossi.csv is committed, the
# others are written there first from R's own copies, so both sides read identical numbers),
# fits every model the tests compare against, and writes the results as JSON. The committed
# fixture tests/data/survival/oracle.json is this script's output; the tests re-run it live when
# Rscript is on the PATH and compare the two.
#
# Every fit is converged well past 6 significant digits (coxph eps 1e-12, crr gtol 1e-12), so
# what is compared is the estimate, not where an iteration happened to stop.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
source(file.path(here, "oracle_io.R"))  # oracle_arguments(), read_data(), write_data(), write_json()
arguments <- oracle_arguments("survival_oracle.R")
output <- arguments$output
data_dir <- arguments$data_dir

# ---------------------------------------------------------------- data sets

heart_data <- survival::heart
write_data(heart_data, "heart")

mgus <- survival::mgus2
mgus$etime <- ifelse(mgus$pstat == 0, mgus$futime, mgus$ptime)
mgus$event <- ifelse(mgus$pstat == 0, 2L * mgus$death, 1L)  # 1 progression (PCM), 2 death
mgus$male <- as.integer(mgus$sex == "M")
write_data(mgus[, c("id", "age", "male", "hgb", "etime", "event", "futime", "death")], "mgus2")

# heavily tied integer times, left truncation, three strata and non-integer case weights
set.seed(20251121)
n <- 400
ties <- data.frame(id = seq_len(n), x1 = round(rnorm(n), 3), x2 = rbinom(n, 1, 0.4),
                   group = sample(1:3, n, replace = TRUE))
rate <- 0.08 * exp(0.5 * ties$x1 - 0.7 * ties$x2)
ties$stop <- pmin(ceiling(rexp(n, rate)), 30)
ties$event <- as.integer(ties$stop < 30 & runif(n) < 0.8)
ties$start <- floor(runif(n) * 0.5 * ties$stop)
ties$weight <- round(runif(n, 0.5, 2), 3)
write_data(ties, "ties")
rossi <- read_data("rossi")
heart <- read_data("heart")
mgus <- read_data("mgus2")
ties <- read_data("ties")

# ---------------------------------------------------------------- helpers
tight <- coxph.control(eps = 1e-12, toler.chol = 1e-14, toler.inf = 1e-6, iter.max = 100)

cox_result <- function(fit, zph = TRUE) {
  out <- list(
    coef = unname(coef(fit)),
    se = unname(sqrt(diag(fit$var))),
    loglik = unname(fit$loglik),
    score = unname(fit$score),
    wald = unname(fit$wald.test),
    names = names(coef(fit))
  )
  if (!is.null(fit$naive.var)) out$naive_se <- unname(sqrt(diag(fit$naive.var)))
  if (zph) {
    z <- cox.zph(fit)
    out$zph_chisq <- unname(z$table[, "chisq"])
    out$zph_df <- unname(z$table[, "df"])
    out$zph_p <- unname(z$table[, "p"])
  }
  out
}

residual_result <- function(fit) {
  list(
    martingale = unname(residuals(fit, type = "martingale")),
    score_residuals = unname(as.vector(residuals(fit, type = "score"))),
    dfbeta = unname(as.vector(residuals(fit, type = "dfbeta"))),
    schoenfeld = unname(as.vector(residuals(fit, type = "schoenfeld"))),
    schoenfeld_time = as.numeric(rownames(as.matrix(residuals(fit, type = "schoenfeld"))))
  )
}

result <- list()
rossi_formula <- Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio

# ---------------------------------------------------------------- Cox models
fit <- coxph(rossi_formula, data = rossi, ties = "efron", control = tight)
result$rossi_efron <- c(cox_result(fit), residual_result(fit))
fit <- coxph(rossi_formula, data = rossi, ties = "breslow", control = tight)
result$rossi_breslow <- c(cox_result(fit), residual_result(fit))
fit <- coxph(Surv(week, arrest) ~ fin + age + prio + tt(age), data = rossi, control = tight,
             tt = function(x, t, ...) x * log(t))
result$rossi_tt <- cox_result(fit, zph = FALSE)

heart_formula <- Surv(start, stop, event) ~ age + year + surgery + transplant
fit <- coxph(heart_formula, data = heart, ties = "efron", control = tight)
result$heart_efron <- c(cox_result(fit), residual_result(fit))
fit <- coxph(heart_formula, data = heart, ties = "breslow", control = tight)
result$heart_breslow <- cox_result(fit)
fit <- coxph(heart_formula, data = heart, ties = "efron", cluster = id, control = tight)
result$heart_cluster <- cox_result(fit)

ties_formula <- Surv(start, stop, event) ~ x1 + x2 + strata(group)
fit <- coxph(ties_formula, data = ties, weights = weight, ties = "efron", control = tight)
result$ties_efron <- c(cox_result(fit), residual_result(fit))
fit <- coxph(ties_formula, data = ties, weights = weight, ties = "breslow", control = tight)
result$ties_breslow <- cox_result(fit)
fit <- coxph(ties_formula, data = ties, weights = weight, cluster = id %% 50, control = tight)
result$ties_cluster <- cox_result(fit, zph = FALSE)

# cause-specific hazard of progression, death censoring
fit <- coxph(Surv(etime, event == 1) ~ age + male, data = mgus, control = tight)
result$mgus2_cause_specific <- cox_result(fit)

# ---------------------------------------------------------------- Kaplan-Meier
km <- survfit(Surv(week, arrest) ~ 1, data = rossi)
result$rossi_km <- list(time = km$time, n_risk = km$n.risk, n_event = km$n.event, surv = km$surv,
                        std_err = km$std.err)
km <- survfit(Surv(start, stop, event) ~ 1, data = heart)
result$heart_km <- list(time = km$time, n_risk = km$n.risk, n_event = km$n.event, surv = km$surv,
                        std_err = km$std.err)
# robust = FALSE: Greenwood's variance (R switches to the infinitesimal jackknife for
# non-integer weights by default; awaken reports Greenwood)
km <- survfit(Surv(start, stop, event) ~ 1, data = ties, weights = weight, robust = FALSE)
result$ties_km <- list(time = km$time, n_risk = km$n.risk, n_event = km$n.event, surv = km$surv,
                       std_err = km$std.err)

# ---------------------------------------------------------------- competing risks
aj <- survfit(Surv(etime, factor(event)) ~ 1, data = mgus)
result$mgus2_aj <- list(time = aj$time, cif1 = aj$pstate[, 2], cif2 = aj$pstate[, 3])
ci <- cuminc(mgus$etime, mgus$event)
result$mgus2_cuminc <- list(time1 = ci[["1 1"]]$time, est1 = ci[["1 1"]]$est, var1 = ci[["1 1"]]$var)
gray <- cuminc(mgus$etime, mgus$event, group = mgus$male)
result$mgus2_gray <- list(stat = unname(gray$Tests[, "stat"]), p = unname(gray$Tests[, "pv"]),
                          df = unname(gray$Tests[, "df"]))
gray <- cuminc(ties$stop, ifelse(ties$event == 1, ifelse(ties$x2 == 1, 2L, 1L), 0L), group = ties$group)
result$ties_gray <- list(stat = unname(gray$Tests[, "stat"]), p = unname(gray$Tests[, "pv"]),
                         df = unname(gray$Tests[, "df"]))

covariates <- cbind(age = mgus$age, male = mgus$male)
fg <- crr(mgus$etime, mgus$event, covariates, failcode = 1, cencode = 0, gtol = 1e-12, maxiter = 100)
result$mgus2_finegray <- list(coef = unname(fg$coef), se = unname(sqrt(diag(fg$var))),
                              loglik = fg$loglik, loglik_null = fg$loglik.null)
fg <- crr(mgus$etime, mgus$event, covariates, failcode = 2, cencode = 0, gtol = 1e-12, maxiter = 100)
result$mgus2_finegray_death <- list(coef = unname(fg$coef), se = unname(sqrt(diag(fg$var))),
                                    loglik = fg$loglik, loglik_null = fg$loglik.null)
ties_status <- ifelse(ties$event == 1, ifelse(ties$x2 == 1, 2L, 1L), 0L)
fg <- crr(ties$stop, ties_status, cbind(x1 = ties$x1), failcode = 1, cencode = 0, gtol = 1e-12,
          maxiter = 100)
result$ties_finegray <- list(coef = unname(fg$coef), se = unname(sqrt(diag(fg$var))),
                             loglik = fg$loglik, loglik_null = fg$loglik.null)
fg <- crr(ties$stop, ties_status, cbind(x1 = ties$x1), cengroup = ties$group, failcode = 1,
          cencode = 0, gtol = 1e-12, maxiter = 100)
result$ties_finegray_cengroup <- list(coef = unname(fg$coef), se = unname(sqrt(diag(fg$var))),
                                      loglik = fg$loglik, loglik_null = fg$loglik.null)

# ---------------------------------------------------------------- logistic regression
lr <- glm(arrest ~ fin + age + prio, family = binomial, data = rossi,
          control = glm.control(epsilon = 1e-14, maxit = 100))
result$rossi_logistic <- list(coef = unname(coef(lr)), se = unname(sqrt(diag(vcov(lr)))),
                              loglik = as.numeric(logLik(lr)))

result$versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                        cmprsk = as.character(packageVersion("cmprsk")))

write_json(result, output)
