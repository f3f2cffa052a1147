-- name: acceptance_by_model
-- description: Agent acceptance rate by model versions (the suggestion's model_versions JSON): feedback
--   count, accepted / edited / dismissed, and accepted / feedback. Feedback on suggestions the lake does
--   not hold is left out.
-- param as_of_version (int, optional): read the tables as of this Delta version
-- param as_of_timestamp (timestamp, optional): read the tables as of this time (ISO-8601 UTC)
SELECT
    s.model_versions,
    count(*) AS feedback,
    sum(CASE WHEN f.action = 'accepted' THEN 1 ELSE 0 END) AS accepted,
    sum(CASE WHEN f.action = 'edited' THEN 1 ELSE 0 END) AS edited,
    sum(CASE WHEN f.action = 'dismissed' THEN 1 ELSE 0 END) AS dismissed,
    round(CAST(sum(CASE WHEN f.action = 'accepted' THEN 1 ELSE 0 END) AS DOUBLE) / count(*), 4) AS acceptance_rate
FROM feedback f
JOIN (SELECT DISTINCT suggestion_id, model_versions FROM suggestions) s ON s.suggestion_id = f.suggestion_id
GROUP BY s.model_versions
ORDER BY s.model_versions
