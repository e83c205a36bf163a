package workspace

import (
	"context"
	"strings"

	"github.com/pooltasks/pooltasks/pooltask"
)

// PoolLister lists desktop pools; *Client has it.
type PoolLister interface {
	ListPools(ctx context.Context, opts pooltask.PoolOptions) (pooltask.PoolPage, error)
}

// FindPool is the one rule by which a pool value becomes an id, wherever a
// pool is given: a value shaped like an id is used as it is (no call);
// else the pool named exactly that (case-insensitive) if there is one
// such, else the only pool whose name contains it (the API's fuzzy name
// filter). A name that matches no pool, or several, is a *PoolNameError;
// any other error is the API's.
func FindPool(ctx context.Context, l PoolLister, nameOrID string) (string, error) {
	if pooltask.IsID(nameOrID) {
		return nameOrID, nil
	}
	page, err := l.ListPools(ctx, pooltask.PoolOptions{Name: nameOrID, Limit: 1000})
	if err != nil {
		return "", err
	}
	var exact []pooltask.Pool
	for _, p := range page.Pools {
		if strings.EqualFold(p.Name, nameOrID) {
			exact = append(exact, p)
		}
	}
	switch {
	case len(exact) == 1:
		return exact[0].ID, nil
	case len(exact) > 1:
		return "", &pooltask.PoolNameError{Name: nameOrID, Matches: exact}
	case len(page.Pools) == 1:
		return page.Pools[0].ID, nil
	}
	return "", &pooltask.PoolNameError{Name: nameOrID, Matches: page.Pools}
}

// PoolID is FindPool through this client.
func (c *Client) PoolID(ctx context.Context, nameOrID string) (string, error) {
	return FindPool(ctx, c, nameOrID)
}
