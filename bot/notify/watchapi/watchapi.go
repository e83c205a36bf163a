// Package watchapi is the internal HTTP API through which responders hand
// watches to the one process that runs them (the scheduler, which keeps
// them across its restarts): Handler serves it there, Remote calls it
// from the others and gives the user the same answers as a local
// watch.Watches.
package watchapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/pooltask"
)

// Paths of the internal watch API that Handler serves and Remote calls.
const (
	StartPath = "/internal/watches"
	StopPath  = "/internal/watches/stop"
	ActPath   = "/internal/watches/act"
)

// maxWatchBody bounds a request body of the internal watch API: its JSON
// holds a few Slack and task ids.
const maxWatchBody = 4 << 10

// ErrSchedulerUnreachable is what a responder answers when the scheduler
// that runs watches does not answer. It names neither the scheduler's
// address nor why, which go to the log.
var ErrSchedulerUnreachable = errors.New("the scheduler that runs watches is not reachable; try again")

// watchCodes maps the errors of Watches to the internal API's codes and
// HTTP statuses, both ways.
var watchCodes = []struct {
	err    error
	code   string
	status int
}{
	{watch.ErrTooManyWatches, "too_many_watches", http.StatusTooManyRequests},
	{watch.ErrTaskNotFound, "task_not_found", http.StatusNotFound},
	{watch.ErrWatchNotFound, "watch_not_found", http.StatusGone},
	{watch.ErrWatchesClosed, "closing", http.StatusServiceUnavailable},
	// Answered with the watch that runs (errorBody.Watch): see
	// watch.AlreadyWatchingError.
	{watch.ErrAlreadyWatching, "already_watching", http.StatusConflict},
}

type startRequest struct {
	TaskID   string `json:"task_id"`
	Target   string `json:"target,omitempty"`
	Channel  string `json:"channel"`
	ThreadTS string `json:"thread_ts,omitempty"`
	UserID   string `json:"user_id"`
}

type stopRequest struct {
	WatchID string `json:"watch_id"`
	UserID  string `json:"user_id"`
}

// actRequest is an action taken on a watch's message (Stop task), for
// the watch that has the message to show and keep.
type actRequest struct {
	Channel   string         `json:"channel"`
	MessageTS string         `json:"message_ts"`
	Act       state.WatchAct `json:"act"`
}

type actResponse struct {
	Acted bool `json:"acted"` // a watch running there has the message
}

type startResponse struct {
	WatchID string `json:"watch_id"`
}

// errorBody is the answer of the internal API to a request that failed.
type errorBody struct {
	Code  string    `json:"code"`
	Error string    `json:"error"` // for people, as Watches says it
	API   *apiError `json:"api,omitempty"`
	// Watch is the watch already running, with code already_watching.
	Watch *existingWatch `json:"watch,omitempty"`
}

// existingWatch carries an *watch.AlreadyWatchingError across.
type existingWatch struct {
	WatchID   string `json:"watch_id"`
	Channel   string `json:"channel"`
	ThreadTS  string `json:"thread_ts,omitempty"`
	MessageTS string `json:"message_ts,omitempty"`
}

// apiError carries a *pooltask.APIError across, so that the responder
// shows it as it shows its own.
type apiError struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// Watches is what Handler needs of the watches it serves; *watch.Watches
// has it.
type Watches interface {
	Start(ctx context.Context, req watch.Request) (string, error)
	Stop(watchID, userID string) error
	Acted(ctx context.Context, channel, ts string, a state.WatchAct) bool
}

// Handler serves the internal API through which responders hand
// watches to the one process that runs them (and keeps them across its
// restarts): POST StartPath with {task_id, channel, thread_ts, user_id}
// answers {watch_id}; POST StopPath with {watch_id, user_id} stops one;
// POST ActPath with {channel, message_ts, act} hands an action taken on a
// message to the watch that has it (watch.Watches.Acted), answering
// {acted}.
// Failures answer {code, error} with a status that tells them apart; a
// start of a task already watched there answers 409 with code
// already_watching and that watch as {watch: {watch_id, channel,
// thread_ts, message_ts}}.
// Every request must carry "Authorization: Bearer token"; an empty token
// refuses them all.
func Handler(w Watches, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+StartPath, func(rw http.ResponseWriter, r *http.Request) {
		var req startRequest
		if !decodeWatchRequest(rw, r, &req) {
			return
		}
		if req.TaskID == "" || req.Channel == "" || req.UserID == "" {
			writeJSON(rw, http.StatusBadRequest, errorBody{Code: "bad_request", Error: "task_id, channel and user_id are required"})
			return
		}
		id, err := w.Start(r.Context(), watch.Request{TaskID: req.TaskID, Target: req.Target, Channel: req.Channel, ThreadTS: req.ThreadTS, UserID: req.UserID})
		if err != nil {
			answerWatchError(rw, err)
			return
		}
		writeJSON(rw, http.StatusOK, startResponse{WatchID: id})
	})
	mux.HandleFunc("POST "+StopPath, func(rw http.ResponseWriter, r *http.Request) {
		var req stopRequest
		if !decodeWatchRequest(rw, r, &req) {
			return
		}
		if req.WatchID == "" || req.UserID == "" {
			writeJSON(rw, http.StatusBadRequest, errorBody{Code: "bad_request", Error: "watch_id and user_id are required"})
			return
		}
		if err := w.Stop(req.WatchID, req.UserID); err != nil {
			answerWatchError(rw, err)
			return
		}
		writeJSON(rw, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("POST "+ActPath, func(rw http.ResponseWriter, r *http.Request) {
		var req actRequest
		if !decodeWatchRequest(rw, r, &req) {
			return
		}
		if req.Channel == "" || req.MessageTS == "" || req.Act.Action == "" || req.Act.Actor == "" {
			writeJSON(rw, http.StatusBadRequest, errorBody{Code: "bad_request", Error: "channel, message_ts, act.action and act.actor are required"})
			return
		}
		writeJSON(rw, http.StatusOK, actResponse{Acted: w.Acted(r.Context(), req.Channel, req.MessageTS, req.Act)})
	})
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if token == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			writeJSON(rw, http.StatusUnauthorized, errorBody{Code: "unauthorized", Error: "missing or wrong internal token"})
			return
		}
		mux.ServeHTTP(rw, r)
	})
}

// decodeWatchRequest reads a bounded JSON body into v, answering the
// request itself when it cannot.
func decodeWatchRequest(rw http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, maxWatchBody)).Decode(v)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeJSON(rw, http.StatusRequestEntityTooLarge, errorBody{Code: "too_large", Error: "request body too large"})
		return false
	case err != nil:
		writeJSON(rw, http.StatusBadRequest, errorBody{Code: "bad_request", Error: "request body is not the expected JSON"})
		return false
	}
	return true
}

// answerWatchError answers an error of Watches.
func answerWatchError(rw http.ResponseWriter, err error) {
	var aw *watch.AlreadyWatchingError
	if errors.As(err, &aw) {
		writeJSON(rw, http.StatusConflict, errorBody{Code: "already_watching", Error: err.Error(),
			Watch: &existingWatch{WatchID: aw.WatchID, Channel: aw.Channel, ThreadTS: aw.ThreadTS, MessageTS: aw.MessageTS}})
		return
	}
	for _, c := range watchCodes {
		if errors.Is(err, c.err) {
			writeJSON(rw, c.status, errorBody{Code: c.code, Error: err.Error()})
			return
		}
	}
	var ae *pooltask.APIError
	if errors.As(err, &ae) {
		writeJSON(rw, http.StatusBadGateway, errorBody{Code: "api_error", Error: err.Error(),
			API: &apiError{Status: ae.Status, Code: ae.Code, Message: ae.Message, RequestID: ae.RequestID}})
		return
	}
	writeJSON(rw, http.StatusInternalServerError, errorBody{Code: "error", Error: err.Error()})
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

// Remote starts and stops watches in another process (the scheduler)
// through Handler's API. It provides bot.Watcher: the user
// sees the same answers as from a local Watches.
type Remote struct {
	baseURL string
	token   string
	client  *http.Client
	log     *slog.Logger
}

// remoteTimeout bounds one call to the scheduler: a start reads the task
// and posts the watch message, paced by Slack's one post per second.
const remoteTimeout = 20 * time.Second

// NewRemote returns a Remote calling the API at baseURL (e.g.
// http://pooltasks-scheduler:8080) with token. Why a call failed is logged
// to logger (nil discards); the user gets ErrSchedulerUnreachable.
func NewRemote(baseURL, token string, logger *slog.Logger) *Remote {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Remote{baseURL: strings.TrimSuffix(baseURL, "/"), token: token,
		client: &http.Client{Timeout: remoteTimeout}, log: logger}
}

// StartWatch asks the scheduler to start a watch and returns its id. Like
// watch.Watches.Start, it returns the running watch's id and an
// *watch.AlreadyWatchingError when the scheduler already watches the task there
// (as after a start that timed out here but went through there).
func (r *Remote) StartWatch(ctx context.Context, taskID, target, channel, threadTS, userID string) (string, error) {
	var resp startResponse
	err := r.call(ctx, StartPath, startRequest{TaskID: taskID, Target: target, Channel: channel, ThreadTS: threadTS, UserID: userID}, &resp)
	var aw *watch.AlreadyWatchingError
	if errors.As(err, &aw) {
		return aw.WatchID, err
	}
	return resp.WatchID, err
}

// StopWatch asks the scheduler to stop a watch at its Stop button.
func (r *Remote) StopWatch(watchID, userID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	return r.call(ctx, StopPath, stopRequest{WatchID: watchID, UserID: userID}, nil)
}

// ActedOnWatch hands the action a taken on the message at ts in channel to
// the scheduler's watch that has that message, which shows it and keeps it
// in its later updates (bot's watchActs); false when no watch there has it
// or the scheduler does not answer (the caller then edits the message).
func (r *Remote) ActedOnWatch(ctx context.Context, channel, ts string, a state.WatchAct) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), remoteTimeout)
	defer cancel()
	var resp actResponse
	return r.call(ctx, ActPath, actRequest{Channel: channel, MessageTS: ts, Act: a}, &resp) == nil && resp.Acted
}

// remoteError is an error of the scheduler's Watches as it said it; it
// matches the same sentinel (errors.Is) as the local error would.
type remoteError struct {
	err error
	msg string
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

func (r *Remote) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding watch request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.baseURL+path, bytes.NewReader(body))
	if err != nil {
		r.log.ErrorContext(ctx, "forwarding watch request", "err", err)
		return ErrSchedulerUnreachable
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.client.Do(req)
	if err != nil {
		r.log.WarnContext(ctx, "forwarding watch request", "err", err)
		return ErrSchedulerUnreachable
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		r.log.WarnContext(ctx, "reading the scheduler's answer", "err", err)
		return ErrSchedulerUnreachable
	}
	if resp.StatusCode == http.StatusOK {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			r.log.WarnContext(ctx, "the scheduler's answer is not JSON", "status", resp.StatusCode, "err", err)
			return ErrSchedulerUnreachable
		}
		return nil
	}
	var eb errorBody
	if json.Unmarshal(data, &eb) != nil || eb.Code == "" {
		// Not the scheduler answering (a proxy, another server).
		r.log.WarnContext(ctx, "unexpected answer from the scheduler", "status", resp.StatusCode)
		return ErrSchedulerUnreachable
	}
	if eb.Code == "already_watching" && eb.Watch != nil && eb.Watch.WatchID != "" {
		w := eb.Watch
		return &watch.AlreadyWatchingError{WatchID: w.WatchID, Channel: w.Channel, ThreadTS: w.ThreadTS, MessageTS: w.MessageTS}
	}
	for _, c := range watchCodes {
		if eb.Code == c.code {
			return &remoteError{err: c.err, msg: eb.Error}
		}
	}
	switch {
	case eb.Code == "api_error" && eb.API != nil:
		return fmt.Errorf("watch: %w", &pooltask.APIError{Status: eb.API.Status, Code: eb.API.Code, Message: eb.API.Message, RequestID: eb.API.RequestID})
	case eb.Code == "unauthorized":
		r.log.ErrorContext(ctx, "the scheduler refused the internal token: check POOLTASKS_INTERNAL_TOKEN on both", "status", resp.StatusCode)
		return errors.New("the scheduler that runs watches refused this pooltasks; ask the team that runs it to check POOLTASKS_INTERNAL_TOKEN")
	}
	// Another failure of the scheduler's (Slack refused the post, ...),
	// shown as a local one would be.
	r.log.WarnContext(ctx, "the scheduler could not do a watch request", "status", resp.StatusCode, "code", eb.Code)
	return errors.New(eb.Error)
}
