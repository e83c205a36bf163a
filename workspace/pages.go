package workspace

import (
	"context"
	"iter"

	"github.com/pooltasks/pooltasks/pooltask"
)

// TaskLister lists one page of tasks; *Client has it.
type TaskLister interface {
	ListTasks(ctx context.Context, opts pooltask.ListOptions) (pooltask.TaskPage, error)
}

// RecordLister lists one page of records; *Client has it.
type RecordLister interface {
	ListRecords(ctx context.Context, opts pooltask.RecordOptions) (pooltask.RecordPage, error)
}

// Tasks yields every task matching opts from opts.Offset on, reading pages
// of MaxPageSize until the API's total_count is reached. A task that moves
// to a later page while paging is yielded once. A failed page is yielded
// as the error and ends the sequence. The caller bounds how many it takes
// by stopping the loop.
func Tasks(ctx context.Context, l TaskLister, opts pooltask.ListOptions) iter.Seq2[pooltask.Task, error] {
	return func(yield func(pooltask.Task, error) bool) {
		seen := make(map[string]bool)
		for t, err := range pages(opts.Offset, MaxPageSize, func(offset, limit int) ([]pooltask.Task, int, error) {
			o := opts
			o.Offset, o.Limit = offset, limit
			p, err := l.ListTasks(ctx, o)
			return p.Tasks, p.Total, err
		}) {
			if err == nil && t.ID != "" {
				if seen[t.ID] {
					continue
				}
				seen[t.ID] = true
			}
			if !yield(t, err) {
				return
			}
		}
	}
}

// Records yields every record matching opts from opts.Offset on, as Tasks
// does for tasks.
func Records(ctx context.Context, l RecordLister, opts pooltask.RecordOptions) iter.Seq2[pooltask.Record, error] {
	return pages(opts.Offset, MaxPageSize, func(offset, limit int) ([]pooltask.Record, int, error) {
		o := opts
		o.Offset, o.Limit = offset, limit
		p, err := l.ListRecords(ctx, o)
		return p.Records, p.Total, err
	})
}

// Pools yields every pool matching opts from opts.Offset on, in pages of
// 1000, the API's largest.
func Pools(ctx context.Context, l PoolLister, opts pooltask.PoolOptions) iter.Seq2[pooltask.Pool, error] {
	return pages(opts.Offset, poolPageSize, func(offset, limit int) ([]pooltask.Pool, int, error) {
		o := opts
		o.Offset, o.Limit = offset, limit
		p, err := l.ListPools(ctx, o)
		return p.Pools, p.Total, err
	})
}

// pages is the one pager: it fetches pages of limit items from offset on
// until the total the API reports is reached or a page comes back empty,
// and yields their items. A failed fetch is yielded once and ends it.
func pages[T any](offset, limit int, fetch func(offset, limit int) ([]T, int, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, total, err := fetch(offset, limit)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			offset += len(items)
			if len(items) == 0 || offset >= total {
				return
			}
		}
	}
}
