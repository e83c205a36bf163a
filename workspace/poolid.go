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
	Matches []string // the names of the pools it matches; none for an unknown name
}

func (e *PoolNameError) Error() string {
	if len(e.Matches) == 0 {
		return fmt.Sprintf("no desktop pool is named like %q", e.Name)
	}
	return fmt.Sprintf("pool %q matches %d pools (%s): give the full name or the id", e.Name, len(e.Matches), strings.Join(e.Matches, ", "))
}

// PoolID returns the id of the pool nameOrID stands for: a value shaped
// like an id as it is; else the pool named exactly that (case-insensitive),
// else the only pool whose name contains it (the API's fuzzy name filter).
// A name that matches no pool or several is a *PoolNameError.
func (c *Client) PoolID(ctx context.Context, nameOrID string) (string, error) {
	if IsID(nameOrID) {
		return nameOrID, nil
	}
	p, err := c.ListPools(ctx, PoolOptions{Name: nameOrID, Limit: 1000})
	if err != nil {
		return "", err
	}
	var names []string
	for _, pool := range p.Pools {
		if strings.EqualFold(pool.Name, nameOrID) {
			return pool.ID, nil
		}
		names = append(names, pool.Name)
	}
	if len(p.Pools) == 1 {
		return p.Pools[0].ID, nil
	}
	return "", &PoolNameError{Name: nameOrID, Matches: names}
}
