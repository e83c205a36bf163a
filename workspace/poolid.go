package workspace

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// uuidShape is the shape of the API's ids.
var uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsID reports whether s is shaped like the API's ids (a UUID) rather than a
// name.
func IsID(s string) bool { return uuidShape.MatchString(s) }

// PoolNameError says that a pool name names no pool, or several.
type PoolNameError struct {
	Name    string
	Matches []Pool // the pools it matches (several); none for an unknown name
}

func (e *PoolNameError) Error() string {
	if len(e.Matches) == 0 {
		return fmt.Sprintf("no desktop pool is named like %q", e.Name)
	}
	names := make([]string, len(e.Matches))
	for i, p := range e.Matches {
		names[i] = fmt.Sprintf("%s (%s)", p.Name, p.ID) // two pools may share a name: the id tells them apart
	}
	return fmt.Sprintf("pool %q matches %d pools: %s; give the full name or the id", e.Name, len(e.Matches), strings.Join(names, ", "))
}

// PoolLister lists desktop pools; *Client has it.
type PoolLister interface {
	ListPools(ctx context.Context, opts PoolOptions) (PoolPage, error)
}

// FindPool is the one rule by which a pool value becomes an id, wherever a
// pool is given: a value shaped like an id is used as it is (no call);
// else the pool named exactly that (case-insensitive) if there is one
// such, else the only pool whose name contains it (the API's fuzzy name
// filter). A name that matches no pool, or several, is a *PoolNameError;
// any other error is the API's.
func FindPool(ctx context.Context, l PoolLister, nameOrID string) (string, error) {
	if IsID(nameOrID) {
		return nameOrID, nil
	}
	page, err := l.ListPools(ctx, PoolOptions{Name: nameOrID, Limit: 1000})
	if err != nil {
		return "", err
	}
	var exact []Pool
	for _, p := range page.Pools {
		if strings.EqualFold(p.Name, nameOrID) {
			exact = append(exact, p)
		}
	}
	switch {
	case len(exact) == 1:
		return exact[0].ID, nil
	case len(exact) > 1:
		return "", &PoolNameError{Name: nameOrID, Matches: exact}
	case len(page.Pools) == 1:
		return page.Pools[0].ID, nil
	}
	return "", &PoolNameError{Name: nameOrID, Matches: page.Pools}
}

// PoolID is FindPool through this client.
func (c *Client) PoolID(ctx context.Context, nameOrID string) (string, error) {
	return FindPool(ctx, c, nameOrID)
}
