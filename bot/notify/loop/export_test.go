package loop

// Queued is how many posts to channel are queued or posting.
func (p *PacedPoster) Queued(channel string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.lanes[channel]; l != nil {
		return l.users
	}
	return 0
}
