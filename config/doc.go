// Package config is pooltasks' one configuration boundary: the Config that
// cmd/pooltasks reads from the environment once (Load, which never fails:
// what it cannot read becomes a problem), the one Validate every subcommand
// uses (serve and digest stop on an error-level problem, doctor reports
// every problem), and the parsers of every value: ParseDuration and
// ParseBool for all durations and booleans, POOLTASKS_CHANNEL_POOLS
// (Bindings) and POOLTASKS_DIGEST_AT (ParseTimeOfDay). Validate returns what it parsed
// (Parsed), so each is parsed once per run.
//
// Nothing else in the tree reads the environment or parses these variables.
package config
