"""File formats: the pydantic models behind every file and document repprofile reads
or writes (questionnaire, role, norm table, provenance, survey mapping, question bank),
and their YAML/JSON loaders. Layer 3 of 7: imports only stats and the base modules."""
