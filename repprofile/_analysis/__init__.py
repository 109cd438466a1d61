"""Analysis: answers become results (scores, normed scores, response quality,
reliability, norm building, fit and ranking, calibration, audit, simulation).
Layer 5 of 7: imports input, formats, stats and the base modules."""
