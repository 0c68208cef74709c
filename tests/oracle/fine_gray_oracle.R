# Oracle values for awaken's Fine-Gray regression and Gray's test, computed by cmprsk and survival.
#
#   Rscript tests/oracle/fine_gray_oracle.R OUTPUT.json [DATA_DIR]
#
# Reads mgus2.csv and ties.csv from DATA_DIR (default tests/data/survival; written there by
# survival_oracle.R from R's own copies), generates cmprsk's own example data (?crr and its
# tests/test.R, same seeds) and writes the data it generated and every result as JSON. The committed
# fixture tests/data/survival/fine_gray_oracle.json is this script's output; tests/test_fine_gray.py
# re-runs it live when Rscript is on the PATH and compares the two.
#
# crr runs with gtol = 1e-12 and coxph with eps = 1e-12, so what is compared is the estimate, not
# where an iteration happened to stop.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
source(file.path(here, "oracle_io.R"))  # oracle_arguments(), read_data(), write_data(), write_json()
arguments <- oracle_arguments("fine_gray_oracle.R")
output <- arguments$output
data_dir <- arguments$data_dir

tight <- coxph.control(eps = 1e-12, toler.chol = 1e-14, toler.inf = 1e-6, iter.max = 100)
fit_crr <- function(...) crr(..., gtol = 1e-12, maxiter = 100)

crr_result <- function(fit) {
  list(coef = unname(fit$coef), se = unname(sqrt(diag(fit$var))), loglik = fit$loglik,
       loglik_null = fit$loglik.null, converged = fit$converged, names = names(fit$coef),
       uftime = fit$uftime, bfitj = fit$bfitj)
}

prediction <- function(p) list(time = unname(p[, 1]), cif = unname(as.vector(p[, -1, drop = FALSE])))

cox_result <- function(fit) {
  list(coef = unname(coef(fit)), se = unname(sqrt(diag(fit$var))), naive_se = unname(sqrt(diag(fit$naive.var))),
       loglik = unname(fit$loglik), names = names(coef(fit)))
}

result <- list()

# ---------------------------------------------------------------- cmprsk's ?crr example
set.seed(10)
ftime <- rexp(200)
fstatus <- sample(0:2, 200, replace = TRUE)
cov <- matrix(runif(600), nrow = 200)
dimnames(cov)[[2]] <- c("x1", "x2", "x3")
result$crr_example_data <- list(ftime = ftime, fstatus = fstatus, x1 = cov[, 1], x2 = cov[, 2], x3 = cov[, 3])

z <- fit_crr(ftime, fstatus, cov)
result$crr_example <- c(crr_result(z), list(
  predict = prediction(predict(z, rbind(c(.1, .5, .8), c(.1, .5, .2))))))
result$crr_example_cause2 <- crr_result(fit_crr(ftime, fstatus, cov, failcode = 2))
quadratic <- function(Uft) cbind(Uft, Uft^2)
z <- fit_crr(ftime, fstatus, cov, cbind(cov[, 1], cov[, 1]), quadratic)
result$crr_example_tf <- c(crr_result(z), list(
  predict = prediction(predict(z, rbind(c(.1, .5, .8), c(.9, .5, .2)), rbind(c(.1, .1), c(.9, .9))))))
cengroup <- seq_len(200) %% 2
result$crr_example_cengroup <- c(crr_result(fit_crr(ftime, fstatus, cov, cengroup = cengroup)),
                                 list(cengroup = cengroup))
result$crr_example_tf_cengroup <- crr_result(fit_crr(ftime, fstatus, cov, cbind(cov[, 1], cov[, 1]), quadratic,
                                                     cengroup = cengroup))

# ---------------------------------------------------------------- cmprsk's tests/test.R (complete cases)
set.seed(2)
ss <- rexp(100)
gg <- factor(sample(1:3, 100, replace = TRUE), 1:3, c("a", "b", "c"))
cc <- sample(0:2, 100, replace = TRUE)
strt <- sample(1:2, 100, replace = TRUE)
dd <- data.frame(ss = abs(rnorm(100)))
cv <- matrix(sample(0:1, 3 * 100, replace = TRUE), ncol = 3)
cv[c(1, 10, 20)] <- NA
complete <- !is.na(cv[, 1])
result$crr_test_data <- list(ss = ss[complete], cc = cc[complete], cv1 = cv[complete, 1], cv2 = cv[complete, 2],
                             cv3 = cv[complete, 3])
tf_test <- function(uft) cbind(uft, uft^2)
cov2 <- cbind(cv[, 1], cv[, 1])
result$crr_test_tf_cengroup <- crr_result(fit_crr(ss, cc, cv, cov2, tf = tf_test, cengroup = cv[, 3]))
result$crr_test_tf_cause2 <- crr_result(fit_crr(ss, cc, cv, cov2, tf = tf_test, failcode = 2))
# (predict.crr takes one row here: with cov2 only its matrix branch calls nrow(cov1))
z <- fit_crr(ss, cc, cov2 = cv[, 1], tf = function(x) x)
result$crr_test_cov2_only <- c(crr_result(z), list(predict = prediction(predict(z, cov2 = 1))))

# ---------------------------------------------------------------- mgus2 and the tied data
mgus <- read_data("mgus2")
ties <- read_data("ties")
ties$status <- ifelse(ties$event == 1, ifelse(ties$x2 == 1, 2L, 1L), 0L)

for (cause in 1:2) {
  z <- fit_crr(mgus$etime, mgus$event, cbind(age = mgus$age, male = mgus$male), cbind(age = mgus$age),
               function(t) log(t), failcode = cause)
  result[[paste0("mgus2_tf_cause", cause)]] <- c(crr_result(z), list(
    predict = prediction(predict(z, rbind(c(60, 0), c(80, 1)), rbind(60, 80)))))
}
z <- fit_crr(mgus$etime, mgus$event, cbind(age = mgus$age, male = mgus$male))
result$mgus2_crr <- c(crr_result(z), list(predict = prediction(predict(z, rbind(c(60, 0), c(80, 1))))))
z <- fit_crr(ties$stop, ties$status, cbind(x1 = ties$x1), cbind(x1 = ties$x1), function(t) t / 30)
result$ties_tf <- c(crr_result(z), list(predict = prediction(predict(z, rbind(-1, 1), rbind(-1, 1)))))

# ---------------------------------------------------------------- survival::finegray + coxph
# finegray's own weights argument is misplaced with strata (user.weights[split$row] indexes the whole
# data with row numbers within the stratum), so the case weights go to coxph: weights = fgwt * w.
ties$fstatus <- factor(ties$status, 0:2)
fg <- finegray(Surv(stop, fstatus) ~ x1 + id + group + strata(group), data = ties)
result$ties_finegray_data <- list(id = fg$id, fgstart = fg$fgstart, fgstop = fg$fgstop, fgstatus = fg$fgstatus,
                                  fgwt = fg$fgwt)
fg$w <- fg$fgwt * ties$weight[match(fg$id, ties$id)]
for (ties_method in c("efron", "breslow")) {
  fit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + strata(group), data = fg, weights = w, cluster = id,
               ties = ties_method, control = tight)
  result[[paste0("ties_finegray_coxph_", ties_method)]] <- cox_result(fit)
}
fg <- finegray(Surv(stop, fstatus) ~ x1 + id, data = ties, etype = "2")
result$ties_finegray_data_cause2 <- list(id = fg$id, fgstart = fg$fgstart, fgstop = fg$fgstop,
                                         fgstatus = fg$fgstatus, fgwt = fg$fgwt)

mgus$fevent <- factor(mgus$event, 0:2)
mgus$w <- 1 + (mgus$id %% 3) / 2
for (cause in 1:2) {
  fg <- finegray(Surv(etime, fevent) ~ age + male + id + strata(male), data = mgus, etype = as.character(cause))
  result[[paste0("mgus2_finegray_data_cause", cause)]] <- list(
    rows = nrow(fg), sum_fgwt = sum(fg$fgwt), sum_fgstart = sum(fg$fgstart), sum_fgstop = sum(fg$fgstop),
    sum_fgstatus = sum(fg$fgstatus), sum_id_fgwt_fgstop = sum(fg$id * fg$fgwt * fg$fgstop))
  fg$cw <- fg$fgwt * mgus$w[match(fg$id, mgus$id)]
  fit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ age + strata(male), data = fg, weights = cw, cluster = id,
               control = tight)
  result[[paste0("mgus2_finegray_coxph_cause", cause)]] <- cox_result(fit)
}
# unstratified, weighted: the cumulative incidence for new covariates (1 - survfit's survival)
fg <- finegray(Surv(etime, fevent) ~ age + male + id, data = mgus)
fg$cw <- fg$fgwt * mgus$w[match(fg$id, mgus$id)]
fit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ age + male, data = fg, weights = cw, cluster = id, control = tight)
curve <- survfit(fit, newdata = data.frame(age = c(60, 80), male = c(0, 1)))
result$mgus2_finegray_coxph_weighted <- c(cox_result(fit), list(time = curve$time,
                                                                cif = as.vector(1 - curve$surv)))
# unweighted, unstratified, Breslow: crr's model through the expanded data
fit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ age + male, data = fg, weights = fgwt, cluster = id,
             ties = "breslow", control = tight)
result$mgus2_finegray_coxph_breslow <- cox_result(fit)

# ---------------------------------------------------------------- Gray's test on the edges
tests <- function(time, status, group, strata, rho = 0) {
  ci <- if (missing(strata)) cuminc(time, status, group, rho = rho) else cuminc(time, status, group, strata, rho = rho)
  list(time = time, status = status, group = group, stat = unname(ci$Tests[, "stat"]),
       p = unname(ci$Tests[, "pv"]), df = unname(ci$Tests[, "df"]))
}
# a group without any failure of cause 1: defined
result$gray_no_failure_in_a_group <- tests(c(1, 2, 3, 4, 5, 6, 1.5, 2.5, 3.5, 4.5, 5.5),
                                           c(1, 1, 2, 1, 0, 1, 2, 0, 2, 0, 2), c(rep(0, 6), rep(1, 5)))
# group 1 leaves before the first failure of cause 1: cuminc answers stat = -1
result$gray_never_together <- tests(c(3, 4, 5, 6, 7, 1, 1.5, 2), c(1, 1, 2, 1, 0, 0, 2, 0), c(rep(0, 5), rep(1, 3)))
# a zero denominator in a term cuminc does not use (the pooled incidence reaches 1)
result$gray_pooled_reaches_one <- tests(c(1, 2, 3, 5), c(1, 1, 1, 2), c(0, 0, 1, 1))
ties_group <- ties$id %% 2
result$ties_gray_strata_rho <- tests(ties$stop, ties$status, ties_group, ties$group, rho = 1)[c("stat", "p", "df")]

result$versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                        cmprsk = as.character(packageVersion("cmprsk")))

# ---------------------------------------------------------------- JSON out (every value an array)
write_json(result, output)
