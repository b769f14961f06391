package flow_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// Random walks through the default 12345 flow by random users, with random
// but well-formed inputs. Whatever happens, the invariants hold: every
// change has exactly one event, nobody acts outside their roles or holder
// rule, a lead never replies past open co-handling branches, deadlines end
// at midnight after a working day, and refusals are coded errors, never
// internal ones.
func TestRandomWalksKeepInvariants(t *testing.T) {
	ctx := context.Background()
	set, diags := registry.Load(ctx, []string{"../../flows", "../../forms", "../../scripts"}, registry.LoadOptions{})
	require.Empty(t, diags)
	w := newWorld(t)
	_, err := configstore.New(w.pool).Record(ctx, set, audit.System, "property test")
	require.NoError(t, err)
	w.runtime.Swap(set)
	f, _ := registry.Model[*flow.Flow](set, flow.Kind, "ticket")
	cal := f.Calendar()

	units := []string{"150105", "150105001", "gr", "zjj", "cgj"}
	actors := map[string]*identity.Principal{}
	seed := identity.Seed{}
	for _, role := range []string{"agent", "dispatcher", "auditor", "callback", "leader"} {
		seed.Users = append(seed.Users, identity.SeedUser{Username: role, DisplayName: role, Unit: "12345", Roles: []string{role}})
	}
	for _, u := range units {
		seed.Users = append(seed.Users, identity.SeedUser{Username: "clerk-" + u, DisplayName: u, Unit: u, Roles: []string{"clerk"}})
	}
	_, _, err = w.ids.LoadSeed(ctx, seed, password)
	require.NoError(t, err)
	for _, u := range seed.Users {
		actors[u.Username] = w.as(t, u.Username)
	}
	names := make([]string, 0, len(actors))
	for n := range actors {
		names = append(names, n)
	}
	slices.Sort(names)

	r := rand.New(rand.NewPCG(12345, 2026))
	var creating []string
	for _, a := range f.Actions {
		if len(a.From) == 0 {
			creating = append(creating, a.Name)
		}
	}
	input := func(a *flow.Action, numbers []string) map[string]any {
		in := map[string]any{}
		if len(a.From) == 0 || a.Form != nil && a.Form.Name == "ticket-register" {
			in = map[string]any{"title": "随机诉求", "content": "随机诉求内容", "caller_phone": "13804711234",
				"type": []string{"咨询", "求助", "投诉", "举报", "建议"}[r.IntN(5)]}
		}
		if a.Form == nil {
			return in
		}
		for _, field := range a.Form.Required {
			switch field {
			case "unit":
				in[field] = units[r.IntN(len(units))]
			case "days":
				in[field] = 1 + r.IntN(3)
			case "master":
				if len(numbers) > 0 {
					in[field] = numbers[r.IntN(len(numbers))]
				}
			case "type":
			default:
				in[field] = "随机填写的足够长的办理说明文字"
			}
		}
		if a.Name == "dispatch" && r.IntN(3) == 0 {
			in["co_units"] = []any{units[r.IntN(len(units))], units[r.IntN(len(units))]}
		}
		return in
	}
	var numbers []string
	attempts, successes := 0, 0
	for walk := 0; walk < 400; walk++ {
		w.now = time.Date(2025, 1, 2, 9, 0, 0, 0, cal.Location()).Add(time.Duration(r.IntN(600*24)) * time.Hour)
		creator := actors[[]string{"agent", "dispatcher"}[r.IntN(2)]]
		// Mostly ordinary registrations, which have the longest lives.
		ca, _ := f.Action("register")
		if r.IntN(4) == 0 {
			ca, _ = f.Action(creating[r.IntN(len(creating))])
		}
		tk, err := w.eng.Create(ctx, creator, "ticket", ca.Name, input(ca, numbers))
		if err != nil {
			_, coded := gql.AsError(err)
			require.True(t, coded, "create %s: %v", ca.Name, err)
			continue
		}
		numbers = append(numbers, tk.Number)
		for step := 0; step < 30; step++ {
			w.now = w.now.Add(time.Duration(1+r.IntN(30)) * time.Hour)
			var options []*flow.Action
			for i := range f.Actions {
				a := &f.Actions[i]
				if slices.ContainsFunc(a.From, func(ref registry.Ref) bool { return ref.Name == tk.State }) {
					options = append(options, a)
				}
			}
			if len(options) == 0 {
				break
			}
			a := options[r.IntN(len(options))]
			// Mostly someone the action is meant for, sometimes anyone, so
			// refusals are exercised too.
			who := actors[names[r.IntN(len(names))]]
			if r.IntN(5) > 0 {
				var fit []*identity.Principal
				for _, n := range names {
					p := actors[n]
					if !slices.ContainsFunc(a.Roles, func(ref registry.Ref) bool { return slices.Contains(p.Roles, ref.Name) }) {
						continue
					}
					if a.Holder == "unit" && (tk.HolderUnit == nil || tk.HolderUnit.ID != p.UnitID) {
						continue
					}
					fit = append(fit, p)
				}
				if len(fit) > 0 {
					who = fit[r.IntN(len(fit))]
				}
			}
			before := tk
			attempts++
			next, err := w.eng.Perform(ctx, who, tk.ID, a.Name, input(a, numbers), &tk.Version)
			if err != nil {
				ge, coded := gql.AsError(err)
				require.True(t, coded, "walk %d step %d %s by %s: %v", walk, step, a.Name, who.Username, err)
				require.NotEqual(t, gql.Internal, ge.Code)
				continue
			}
			successes++
			tk = next
			msg := fmt.Sprintf("walk %d step %d: %s by %s", walk, step, a.Name, who.Username)
			require.True(t, slices.ContainsFunc(a.Roles, func(ref registry.Ref) bool { return slices.Contains(who.Roles, ref.Name) }), msg)
			if a.Holder == "unit" {
				require.NotNil(t, before.HolderUnit, msg)
				require.Equal(t, before.HolderUnit.ID, who.UnitID, msg)
			}
			if a.Name == "reply" {
				for _, b := range tk.Branches {
					require.NotEqual(t, "open", b.State, "%s: replied past an open branch", msg)
				}
			}
			var events int
			require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM ticket_events WHERE ticket_id = $1`, tk.ID).Scan(&events))
			require.Equal(t, tk.Version, events, msg)
			if tk.Deadline != nil {
				d := tk.Deadline.In(cal.Location())
				require.Equal(t, 0, d.Hour()+d.Minute()+d.Second(), "%s: deadline %s not at midnight", msg, d)
				require.True(t, cal.IsWorkday(d.Add(-time.Nanosecond)), "%s: deadline %s ends a day off", msg, d)
			}
		}
	}
	t.Logf("%d attempts, %d performed", attempts, successes)
	require.Greater(t, successes, 600, "the walks must actually move tickets")
}
