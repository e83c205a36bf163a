// Package commands turns the words people type after /pooltasks (or after
// `pooltasks query`, or a mention of the bot) into a typed Command, and back.
//
// Parse validates everything before any API call is made and reports every
// problem it finds at once, in sentences a person can act on during an
// incident. Canonical renders a Command as text that Parse reads back to the
// same Command, so buttons and "copy as command" can carry it. Help and
// HelpTopic are generated from the same key table that drives the parser.
//
// The package knows nothing about Slack or the cloud SDK; its output is a
// pooltask.ListOptions that the Workspace client runs as it is.
package commands
