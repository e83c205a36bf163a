// Package workspace is the client for the Huawei Cloud Workspace API used by
// pooltasks: script execution tasks of desktop pools, the per-desktop records
// of a task and the desktop pools themselves, and the actions on tasks
// (Retry, Stop, Execute), which are never sent twice (see post).
//
// It wraps the official SDK (which signs the requests) and adds what an ops
// bot needs around it: real context cancellation, one token bucket for all
// outbound calls, retries with jittered backoff, coalescing of identical
// concurrent calls, a short cache and typed errors. Callers see plain Go
// types only; no SDK type crosses this package's boundary.
package workspace
