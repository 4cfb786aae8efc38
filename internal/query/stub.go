package query

import (
	"errors"
	"time"
)

var errTODO = errors.New("query: not implemented yet")

func parse(s string, now time.Time) (Node, error)       { return nil, errTODO }
func toSQL(n Node, s SQLSchema) (string, []any, error)  { return "", nil, errTODO }
func toDSL(n Node, s DSLSchema) (map[string]any, error) { return nil, errTODO }
func (*MatchAll) String() string                        { return "*" }
func (n *And) String() string                           { return "" }
func (n *Or) String() string                            { return "" }
func (n *Not) String() string                           { return "" }
func (n *Term) String() string                          { return "" }
func (n *Phrase) String() string                        { return "" }
func (n *Wildcard) String() string                      { return "" }
func (n *Range) String() string                         { return "" }
func (n *Exists) String() string                        { return "" }
func (n *CIDR) String() string                          { return "" }
