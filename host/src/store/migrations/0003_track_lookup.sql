-- A track lookup is answered from the tenant's time index instead of an
-- index of its own. Track ids are the platform's random GUIDs: an index
-- keyed by them put every new invocation on a random leaf page, a page
-- written to the log per record (≈ 18 % of a plugin-bound pre-check's CPU
-- on SQLite, ARCHITECTURE.md §Performance). SQLite never used it for the
-- decisions query anyway (its filters are `($N = '' OR column = $N)`); the
-- time index, now also holding the track id, lets the filter be checked
-- without reading the rows. A lookup scans the tenant's retained entries
-- (bounded by its retention: 100,000 records by default) in the index alone.
DROP INDEX invocations_by_track;
DROP INDEX invocations_by_tenant;
CREATE INDEX invocations_by_tenant ON invocations (tenant_id, at, track_id);
