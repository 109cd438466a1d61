"""Input: anything a recruiter has (tables, records, arrays, survey exports, streamed
CSV) becomes an :class:`~repprofile.AnswerSet`. Layer 4 of 7: imports formats, stats
and the base modules."""
