package discover

// logTables logs, at debug level, how full the session's tables are when
// an operation ends: the instance table (capped by Config.MaxEntries) and
// the message IDs kept for duplicate suppression (capped at maxSeen).
func (s *session) logTables() {
	s.l.log.Debug("tables", "entries", s.entries, "max_entries", s.l.cfg.MaxEntries, "seen_ids", s.seen.Len(), "max_seen_ids", maxSeen,
		"goodbyes", len(s.byes), "max_goodbyes", maxByes)
}
