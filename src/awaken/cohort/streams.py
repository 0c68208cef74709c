"""Stream numbers: what each random draw is for (see :mod:`awaken.cohort.draws`).

A stream is fixed per purpose so that a person meets the same chance for the same thing in every
scenario and block layout. Per-event streams are ``base + source * SOURCE_STRIDE + slot``, with the
candidate number as the draw index.
"""

# a person's attributes and latent clocks
CANCER_TYPE, SEX, DIAGNOSIS_DATE, AGE, SUBTYPE, STAGE, NODES, DCC_FOCI = 1, 2, 3, 4, 5, 6, 7, 8
FLU_HABIT, COVID_HABIT, BACKGROUND_DEATH, RECURRENCE, SITE, METASTATIC_SURVIVAL = 9, 10, 11, 12, 13, 14
CERTIFICATE = 15  # how a COVID-19 death is certified

SOURCE_STRIDE = 16
INFLUENZA = 1_000  # + season * SOURCE_STRIDE + slot
COVID = 100_000  # + wave * SOURCE_STRIDE + slot
FLU_VACCINE = 200_000  # + season * SOURCE_STRIDE + slot
COVID_VACCINE = 300_000  # + campaign * SOURCE_STRIDE + slot (campaign 0: primary series)
NEGATIVE_TESTS = 400_000  # + period * SOURCE_STRIDE + slot

# slots of an infection candidate
COUNT, TIME, ACCEPT, RECORD, DEATH, RESPONSE, AWAKEN, DELAY_1, DELAY_2, DEATH_DELAY = range(10)
# slots of a negative-test process in the person-time with active cancer (care-driven testing)
ACTIVE_COUNT, ACTIVE_TIME = 10, 11
# slots of a vaccination decision
HABIT_SWITCH, FRESH, DAY = 0, 1, 2
# slots of an infection candidate read only by a trial arm (awaken.cohort.interventions)
TRIAL_DETECT, TRIAL_START, TRIAL_HARM = 12, 13, 14
# a trial's person-level draws: allocation to an arm, vaccine uptake, surveillance scans
TRIAL_ALLOCATION = 500_000
TRIAL_FLU_UPTAKE = 510_000  # + season * SOURCE_STRIDE
TRIAL_BOOSTER_UPTAKE = 520_000  # + campaign * SOURCE_STRIDE
TRIAL_SCAN = 530_000  # + scan number * SOURCE_STRIDE (+ 0 sensitivity, + 1 false positive)
