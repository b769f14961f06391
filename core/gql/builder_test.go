package gql

import (
	"errors"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type funcModule struct {
	name string
	reg  func(b *Builder) error
}

func (m funcModule) Name() string              { return m.name }
func (m funcModule) Register(b *Builder) error { return m.reg(b) }

func strField(v string) *graphql.Field {
	return &graphql.Field{Type: graphql.String, Resolve: func(graphql.ResolveParams) (any, error) { return v, nil }}
}

func TestBuilderDuplicateNamesBothModules(t *testing.T) {
	identity := funcModule{"identity", func(b *Builder) error {
		b.Query("me", strField("a"))
		b.Mutation("login", strField("a"))
		return nil
	}}
	tickets := funcModule{"tickets", func(b *Builder) error {
		b.Query("me", strField("b"))
		b.Query("tickets", strField("b"))
		b.Mutation("login", strField("b"))
		return nil
	}}
	_, err := NewBuilder().Build(identity, tickets)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `Query.me is registered twice: by module "identity" and by module "tickets"`)
	assert.Contains(t, err.Error(), `Mutation.login is registered twice: by module "identity" and by module "tickets"`)
}

func TestBuilderReportsAllProblems(t *testing.T) {
	failing := funcModule{"forms", func(b *Builder) error { return errors.New("form definitions missing") }}
	badName := funcModule{"calls", func(b *Builder) error {
		b.Query("bad-name", strField("x"))
		return nil
	}}
	t1 := graphql.NewObject(graphql.ObjectConfig{Name: "Dup", Fields: graphql.Fields{"a": strField("")}})
	t2 := graphql.NewObject(graphql.ObjectConfig{Name: "Dup", Fields: graphql.Fields{"a": strField("")}})
	types1 := funcModule{"m1", func(b *Builder) error { b.Type(t1); b.Type(t1); return nil }}
	types2 := funcModule{"m2", func(b *Builder) error { b.Type(t2); return nil }}

	_, err := NewBuilder().Build(failing, badName, types1, types2, failing)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `registering module "forms": form definitions missing`)
	assert.Contains(t, msg, `module "calls": Query.bad-name: invalid GraphQL name`)
	assert.Contains(t, msg, `type Dup is defined twice: by module "m1" and by module "m2"`)
	assert.Contains(t, msg, `module "forms" is registered twice`)
	assert.Contains(t, msg, "no Query fields registered")
}

func TestBuilderBuildsSchema(t *testing.T) {
	node := graphql.NewInterface(graphql.InterfaceConfig{
		Name:   "Node",
		Fields: graphql.Fields{"id": &graphql.Field{Type: graphql.NewNonNull(graphql.ID)}},
		ResolveType: func(graphql.ResolveTypeParams) *graphql.Object {
			return nil
		},
	})
	user := graphql.NewObject(graphql.ObjectConfig{
		Name:       "User",
		Interfaces: []*graphql.Interface{node},
		Fields:     graphql.Fields{"id": &graphql.Field{Type: graphql.NewNonNull(graphql.ID)}},
	})
	m := funcModule{"identity", func(b *Builder) error {
		b.Query("node", &graphql.Field{Type: node})
		b.Mutation("logout", strField("ok"))
		b.Type(user)
		return nil
	}}
	s, err := NewBuilder().Build(m)
	require.NoError(t, err)
	assert.NotNil(t, s.MutationType())
	assert.NotNil(t, s.Type("User"), "extra type registered")
	assert.NotNil(t, s.Type("JSON"))
	assert.NotNil(t, s.Type("Time"))

	res := graphql.Do(graphql.Params{Schema: s, RequestString: `mutation { logout }`})
	require.Empty(t, res.Errors)
	assert.Equal(t, map[string]any{"logout": "ok"}, res.Data)
}

func subField() *graphql.Field {
	return &graphql.Field{Type: graphql.Int, Subscribe: func(p graphql.ResolveParams) (any, error) {
		ch := make(chan any, 2)
		ch <- 1
		ch <- 2
		close(ch)
		return ch, nil
	}}
}

func TestBuilderSubscriptionConflicts(t *testing.T) {
	acd := funcModule{"acd", func(b *Builder) error {
		b.Query("ok", strField("ok"))
		b.Subscription("queueChanged", subField())
		return nil
	}}
	dashboard := funcModule{"dashboard", func(b *Builder) error {
		b.Subscription("queueChanged", subField())
		b.Subscription("noSource", &graphql.Field{Type: graphql.Int})
		b.Subscription("bad-name", subField())
		b.Subscription("nothing", nil)
		return nil
	}}
	_, err := NewBuilder().Build(acd, dashboard)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `Subscription.queueChanged is registered twice: by module "acd" and by module "dashboard"`)
	assert.Contains(t, msg, `module "dashboard": Subscription.noSource: no Subscribe function`)
	assert.Contains(t, msg, `module "dashboard": Subscription.bad-name: invalid GraphQL name`)
	assert.Contains(t, msg, `module "dashboard": Subscription.nothing: nil field`)
}

func TestBuilderBuildsSubscriptionRoot(t *testing.T) {
	s, err := NewBuilder().Build(funcModule{"queries", func(b *Builder) error {
		b.Query("ok", strField("ok"))
		return nil
	}})
	require.NoError(t, err)
	assert.Nil(t, s.SubscriptionType(), "no Subscription type without subscription fields")

	f := subField()
	s, err = NewBuilder().Build(funcModule{"acd", func(b *Builder) error {
		b.Query("ok", strField("ok"))
		b.Subscription("queueChanged", f)
		return nil
	}})
	require.NoError(t, err)
	require.NotNil(t, s.SubscriptionType())
	assert.Equal(t, "Subscription", s.SubscriptionType().Name())
	assert.Contains(t, s.SubscriptionType().Fields(), "queueChanged")
	assert.Nil(t, f.Resolve, "the module's field is not modified")

	// graphql-go's own entry point works on the built schema; without a
	// Resolve each event is the field's value.
	var got []any
	for res := range graphql.Subscribe(graphql.Params{Schema: s, RequestString: `subscription { queueChanged }`, Context: t.Context()}) {
		require.Empty(t, res.Errors)
		got = append(got, res.Data.(map[string]any)["queueChanged"])
	}
	assert.Equal(t, []any{1, 2}, got)
}

// A module's fields may return an object another module registered
// before it; asking for one nobody registered, or asking too early, fails
// the build naming the module that asked.
func TestBuilderLendsObjectsToLaterModules(t *testing.T) {
	ticket := graphql.NewObject(graphql.ObjectConfig{Name: "Ticket", Fields: graphql.Fields{"number": strField("12345")}})
	owner := funcModule{"flow", func(b *Builder) error {
		b.Type(ticket)
		b.Query("ticket", &graphql.Field{Type: ticket, Resolve: func(graphql.ResolveParams) (any, error) { return struct{}{}, nil }})
		return nil
	}}
	var lent *graphql.Object
	borrower := funcModule{"search", func(b *Builder) error {
		lent = b.Object("Ticket")
		b.Query("found", &graphql.Field{Type: graphql.NewList(lent), Resolve: func(graphql.ResolveParams) (any, error) { return []any{struct{}{}}, nil }})
		return nil
	}}
	s, err := NewBuilder().Build(owner, borrower)
	require.NoError(t, err)
	assert.Same(t, ticket, lent)
	r := graphql.Do(graphql.Params{Schema: s, RequestString: `{ found { number } }`})
	require.Empty(t, r.Errors)
	assert.Equal(t, map[string]any{"found": []any{map[string]any{"number": "12345"}}}, r.Data)

	_, err = NewBuilder().Build(borrower, owner)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `module "search": no object type Ticket was registered by a module before it`)
}
