package state

import (
	"context"
	"encoding/json"
	"fmt"
)

// NewDocument returns an empty Document of the version this pooltasks
// writes, for a store to fill.
func NewDocument() *Document { return newState() }

// DecodeDocument reads a Document: one of a newer version is a
// *NewerError (File empty), one that is not a Document an error that
// says why.
func DecodeDocument(b []byte) (*Document, error) {
	d, err := decodeState(b)
	if err != nil {
		return nil, err
	}
	for k, a := range d.Alerts {
		if len(a.Intents) == 0 {
			d.Alerts[k].Intents = nil
		}
	}
	return d, nil
}

// Empty reports whether d keeps nothing.
func (d *Document) Empty() bool {
	return len(d.Digests) == 0 && len(d.DigestIntents) == 0 && len(d.Alerts) == 0 && len(d.Watches) == 0 &&
		!d.ChartsRefused && len(d.Actions) == 0 && len(d.Approvals) == 0 && len(d.Living) == 0 &&
		len(d.Mutes) == 0 && len(d.Muted) == 0
}

// Export returns a copy of everything the store keeps.
func (s *Store) Export(context.Context) (*Document, error) {
	s.mu.Lock()
	b, err := json.Marshal(s.st)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("encoding state: %w", err)
	}
	return DecodeDocument(b)
}

// Import replaces everything the store keeps by d, and saves it.
func (s *Store) Import(_ context.Context, d *Document) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	st, err := decodeState(b)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.st
	s.st = st
	if err := s.saveLocked(); err != nil {
		s.st = old
		return err
	}
	return nil
}
