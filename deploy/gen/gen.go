// Package gen generates realistic Hohhot tickets for demos, tests and
// benchmarks: callers (some calling again), addresses in the organisation's
// districts, streets and communities, topics with Chinese titles and
// bodies of varied wording, channels, urgency, and histories along the
// running flow's actions, spread over years. Each step is taken as the
// engine would take it: by an account the flow allows, its guards
// holding, its effects (holder, fields, the deadline's clock, the step
// limit) evaluated from the flow's own expressions. The same seed gives the same
// tickets. Rows are written with COPY: a million tickets in minutes.
//
// The vocabulary is hohhot.yaml; how tickets move through the flow is
// paths.yaml, checked against the running flow before anything is written.
package gen

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
	"github.com/hotline12345/hotline/core/ticket"
)

//go:embed hohhot.yaml
var vocabularyYAML []byte

//go:embed paths.yaml
var pathsYAML []byte

// Vocabulary is hohhot.yaml.
type Vocabulary struct {
	Surnames       []string `yaml:"surnames"`
	Given          []string `yaml:"given"`
	MobilePrefixes []string `yaml:"mobile_prefixes"`
	LandlinePrefix string   `yaml:"landline_prefix"`
	Roads          []string `yaml:"roads"`
	Complexes      []string `yaml:"complexes"`
	Companies      []string `yaml:"companies"`
	Shops          []string `yaml:"shops"`
	BusLines       []string `yaml:"bus_lines"`
	Topics         []Topic  `yaml:"topics"`
}

// Topic is a kind of request: its category, the unit that handles it, and
// templates of what callers say and units reply.
type Topic struct {
	Name     string         `yaml:"name"`
	Category string         `yaml:"category"`
	Unit     string         `yaml:"unit"`
	Weight   int            `yaml:"weight"`
	Months   []int          `yaml:"months"`
	Types    map[string]int `yaml:"types"`
	Urgent   float64        `yaml:"urgent"`
	Titles   []string       `yaml:"titles"`
	Bodies   []string       `yaml:"bodies"`
	Replies  []string       `yaml:"replies"`
}

// Paths is paths.yaml.
type Paths struct {
	Flow       string                    `yaml:"flow"`
	Form       string                    `yaml:"form"`
	Center     string                    `yaml:"center"`
	SettleDays int                       `yaml:"settle_days"`
	Showcase   Showcase                  `yaml:"showcase"`
	Paths      []Path                    `yaml:"paths"`
	Delays     map[string][2]float64     `yaml:"delays"`
	Inputs     map[string]map[string]any `yaml:"inputs"`
}

// Showcase says where the newest tickets, which stop at every open state
// the paths reach, are: tickets of paths dispatched to the caller's
// district are from callers in District.
type Showcase struct {
	District string `yaml:"district"`
}

// Path is a weighted sequence of actions.
type Path struct {
	Weight int `yaml:"weight"`
	// Unit is where the path dispatches: "" the topic's unit, "district"
	// the caller's district (属地, to be handed down), "city" a topic's
	// unit directly under the city (a bureau or company: its requests go
	// to the centre in one step).
	Unit    string   `yaml:"unit"`
	Actions []string `yaml:"actions"`
}

// Stop is a point of a path: after its first Steps actions.
type Stop struct {
	Path, Steps int
	State       string
}

// Options say how many tickets to make and how.
type Options struct {
	Tickets int
	Seed    uint64
	// Years the tickets are spread over, ending at Now.
	Years float64
	Now   time.Time
	// Batch is how many tickets go in one transaction.
	Batch    int
	Progress func(done int)
	// Bulk drops the search index's GIN indexes while loading and builds
	// them again at the end: many times faster for a million tickets, but
	// searches find nothing until it finishes. For a database not serving.
	Bulk bool
	// Built, when set, is told how long rebuilding the indexes took.
	Built func(time.Duration)
}

// Load reads the embedded vocabulary and paths.
func Load() (*Vocabulary, *Paths, error) {
	var v Vocabulary
	if err := yaml.Unmarshal(vocabularyYAML, &v); err != nil {
		return nil, nil, fmt.Errorf("reading deploy/gen/hohhot.yaml: %w", err)
	}
	var p Paths
	if err := yaml.Unmarshal(pathsYAML, &p); err != nil {
		return nil, nil, fmt.Errorf("reading deploy/gen/paths.yaml: %w", err)
	}
	return &v, &p, nil
}

// place is a street (or town) of the organisation, with its district and
// communities, where callers live.
type place struct {
	district, street string // unit codes
	communities      []string
	districtName     string
	streetName       string
}

type unitInfo struct {
	id                 int64
	code, name, kind   string
	path               string
	parent, parentKind string
}

func (u unitInfo) ref() *ticket.UnitRef {
	return &ticket.UnitRef{ID: u.id, Code: u.code, Name: u.name, Kind: u.kind, ParentCode: u.parent, ParentKind: u.parentKind, Path: u.path}
}

// world is what the generator reads from the database and configuration
// before writing.
type world struct {
	voc         *Vocabulary
	paths       *Paths
	flow        *flow.Flow
	flowVersion int
	spec        *ticket.IndexSpec
	units       map[string]unitInfo
	places      []place
	agents      []actor             // the centre's agents, who register
	byUnit      map[string][]actor  // active users by unit code
	formFields  map[string][]string // field names of the paths' forms
	userIDs     map[string]int64
	topicCDF    [12][]float64 // per month
	pathCDF     []float64
	unitNames   map[string]string
	// programs are the flow's expressions the generator evaluates, by
	// source: effects and guards of the paths' actions.
	programs map[string]*rules.Program
	// depth is how many levels each path hands a ticket down at most.
	depth []int
	// showcase are the stops of the newest tickets.
	showcase []Stop
}

type actor struct {
	id       int64
	username string
	unit     string
	roles    []string
}

func (a actor) has(roles []registry.Ref) bool {
	return slices.ContainsFunc(roles, func(r registry.Ref) bool { return slices.Contains(a.roles, r.Name) })
}

// Generate writes opts.Tickets tickets into the database of pool, for the
// running configuration set.
func Generate(ctx context.Context, pool *pgxpool.Pool, set *registry.Set, opts Options) (err error) {
	if opts.Tickets <= 0 {
		return nil
	}
	if opts.Years <= 0 {
		opts.Years = 3
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Batch <= 0 {
		opts.Batch = 5000
	}
	w, err := prepare(ctx, pool, set)
	if err != nil {
		return err
	}
	// Into an empty database, every index row is built under the running
	// spec: recorded, so the server does not rebuild them at start.
	var had bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tickets)`).Scan(&had); err != nil {
		return fmt.Errorf("looking for tickets: %w", err)
	}
	span := time.Duration(opts.Years * 365 * 24 * float64(time.Hour))
	start := opts.Now.Add(-span)
	step := span / time.Duration(opts.Tickets)
	if opts.Bulk {
		rebuild, err := dropSearchIndexes(ctx, pool)
		if err != nil {
			return err
		}
		defer func() {
			start := time.Now()
			if rerr := rebuild(); rerr != nil && err == nil {
				err = rerr
			}
			if opts.Built != nil {
				opts.Built(time.Since(start))
			}
		}()
	}
	callers := max(opts.Tickets/3, 1)
	// The newest tickets stop at every open state of the paths (each
	// once): whatever chance does with the older ones, every step of the
	// flow has work waiting on someone.
	first := opts.Tickets - len(w.showcase)
	var prevNumber string
	for from := 0; from < opts.Tickets; from += opts.Batch {
		to := min(from+opts.Batch, opts.Tickets)
		batch := make([]generated, 0, to-from)
		for i := from; i < to; i++ {
			created := start.Add(time.Duration(i)*step + time.Duration(rand.New(rand.NewPCG(opts.Seed, uint64(i)^0x5eed)).Int64N(int64(step)+1)))
			var stop *Stop
			if i >= first {
				stop = &w.showcase[i-first]
			}
			t, err := w.ticket(opts.Seed, i, callers, created, opts.Now, stop)
			if err != nil {
				return err
			}
			batch = append(batch, t)
		}
		if err := w.write(ctx, pool, batch, &prevNumber); err != nil {
			return err
		}
		if opts.Progress != nil {
			opts.Progress(to)
		}
	}
	if !had {
		return ticket.RecordIndexSpec(ctx, pool, w.spec)
	}
	return nil
}

func prepare(ctx context.Context, pool *pgxpool.Pool, set *registry.Set) (*world, error) {
	voc, paths, err := Load()
	if err != nil {
		return nil, err
	}
	w := &world{voc: voc, paths: paths, units: map[string]unitInfo{}, byUnit: map[string][]actor{}, userIDs: map[string]int64{},
		unitNames: map[string]string{}, programs: map[string]*rules.Program{}}
	f, ok := registry.Model[*flow.Flow](set, flow.Kind, paths.Flow)
	if !ok {
		return nil, fmt.Errorf("deploy/gen/paths.yaml: flow %q is not in the running configuration", paths.Flow)
	}
	w.flow = f
	w.spec = ticket.SpecOf(set)
	if err := pool.QueryRow(ctx, `SELECT version FROM config_active WHERE kind = $1 AND name = $2`, flow.Kind, f.Name).Scan(&w.flowVersion); err != nil {
		return nil, fmt.Errorf("reading the running version of flow %s: %w", f.Name, err)
	}
	if err := w.checkPaths(); err != nil {
		return nil, err
	}
	w.formFields = map[string][]string{}
	for _, d := range set.All(form.Kind) {
		fm, ok := d.Model.(*form.Form)
		if !ok {
			continue
		}
		for _, fl := range fm.Fields {
			w.formFields[fm.Name] = append(w.formFields[fm.Name], fl.Name)
		}
	}
	rows, err := pool.Query(ctx, `SELECT u.id, u.code, u.name, u.kind, u.path, COALESCE(p.code, ''), COALESCE(p.kind, '') FROM units u LEFT JOIN units p ON p.id = u.parent_id WHERE u.active ORDER BY u.path`)
	if err != nil {
		return nil, fmt.Errorf("reading units: %w", err)
	}
	parents := map[string]string{}
	var codes []string
	for rows.Next() {
		var u unitInfo
		if err := rows.Scan(&u.id, &u.code, &u.name, &u.kind, &u.path, &u.parent, &u.parentKind); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading units: %w", err)
		}
		w.units[u.code], parents[u.code] = u, u.parent
		w.unitNames[u.code] = u.name
		codes = append(codes, u.code)
	}
	rows.Close()
	if _, ok := w.units[paths.Center]; !ok {
		return nil, fmt.Errorf("deploy/gen/paths.yaml: centre unit %q does not exist (load the organisation first)", paths.Center)
	}
	// Places: every street or town under a district-like unit, with the
	// communities under it.
	byStreet := map[string]int{}
	for _, c := range codes {
		u, parent := w.units[c], parents[c]
		switch u.kind {
		case "street", "town":
			if p, ok := w.units[parent]; ok {
				byStreet[c] = len(w.places)
				w.places = append(w.places, place{district: parent, street: c, districtName: p.name, streetName: u.name})
			}
		case "community":
			if i, ok := byStreet[parent]; ok {
				w.places[i].communities = append(w.places[i].communities, c)
			}
		}
	}
	if len(w.places) == 0 {
		return nil, fmt.Errorf("the organisation has no streets or towns to give callers addresses in")
	}
	for _, t := range voc.Topics {
		if t.Unit != "street" && t.Unit != "district" {
			if _, ok := w.units[t.Unit]; !ok {
				return nil, fmt.Errorf("deploy/gen/hohhot.yaml: topic %s: unit %q does not exist", t.Name, t.Unit)
			}
		}
	}
	// Agents of the centre register; whoever the flow lets act on a
	// ticket (by role, and as its holding unit's people where the action
	// says so) does each later step.
	rows, err = pool.Query(ctx, `SELECT n.code, u.id, u.username, ARRAY(SELECT role FROM user_roles WHERE user_id = u.id
		UNION SELECT unnest(p.roles) FROM user_posts up JOIN posts p ON p.id = up.post_id WHERE up.user_id = u.id)
		FROM users u JOIN units n ON n.id = u.unit_id WHERE NOT u.disabled ORDER BY n.code, u.id`)
	if err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	for rows.Next() {
		var a actor
		if err := rows.Scan(&a.unit, &a.id, &a.username, &a.roles); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading users: %w", err)
		}
		slices.Sort(a.roles)
		w.byUnit[a.unit] = append(w.byUnit[a.unit], a)
		w.userIDs[a.username] = a.id
		// (The IVR's own account makes voice-message tickets, not these.)
		if a.unit == paths.Center && slices.Contains(a.roles, "agent") && a.username != "ivr" {
			w.agents = append(w.agents, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	if len(w.agents) == 0 {
		return nil, fmt.Errorf("no agent in the centre unit %q to register tickets", paths.Center)
	}
	for m := 0; m < 12; m++ {
		var weights []float64
		for _, t := range voc.Topics {
			wt := float64(max(t.Weight, 1))
			for _, month := range t.Months {
				if month == m+1 {
					wt *= 4
				}
			}
			weights = append(weights, wt)
		}
		w.topicCDF[m] = cdf(weights)
	}
	var pw []float64
	for _, p := range paths.Paths {
		pw = append(pw, float64(p.Weight))
	}
	w.pathCDF = cdf(pw)
	return w, nil
}

// checkPaths walks every path through the flow, compiles the effects and
// guards of its actions that the generator evaluates, and picks the
// showcase: the first point of the paths at each open (or draft) state, at
// each level the ticket is handed down to.
func (w *world) checkPaths() error {
	env, ok := rules.LookupEnv(flow.EnvName)
	if !ok {
		return fmt.Errorf("the flow expression environment is not registered")
	}
	compile := func(where string, e rules.Expr, want rules.Result) error {
		if e.Source == "" || w.programs[e.Source] != nil {
			return nil
		}
		p, diags := rules.Compile(e, env, want)
		if err := diags.Err(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		w.programs[e.Source] = p
		return nil
	}
	seen := map[string]bool{}
	w.depth = make([]int, len(w.paths.Paths))
	for i, p := range w.paths.Paths {
		switch p.Unit {
		case "", "district", "city":
		default:
			return fmt.Errorf("deploy/gen/paths.yaml: paths[%d]: unit %q is none of district, city or empty", i, p.Unit)
		}
		state, depth, local := "", 0, false
		for j, name := range p.Actions {
			where := fmt.Sprintf("deploy/gen/paths.yaml: paths[%d].actions[%d]", i, j)
			a, ok := w.flow.Action(name)
			if !ok {
				return fmt.Errorf("%s: flow %s has no action %q", where, w.flow.Name, name)
			}
			allowed := len(a.From) == 0 && state == ""
			for _, f := range a.From {
				allowed = allowed || f.Name == state
			}
			if !allowed {
				return fmt.Errorf("%s: action %s cannot start from state %q", where, name, state)
			}
			for _, g := range a.Guards {
				if err := compile(where, g.Rule, rules.Bool); err != nil {
					return err
				}
			}
			for _, eff := range a.Effects {
				var err error
				switch {
				case eff.Assign != nil:
					if eff.Assign.To == "previous" {
						return fmt.Errorf("%s: action %s: the generator cannot follow assign to: previous", where, name)
					}
					err = errors.Join(compile(where, eff.Assign.Unit, rules.String), compile(where, eff.Assign.User, rules.String))
					switch {
					case eff.Assign.Below == "holder":
						depth++
					case eff.Assign.Unit.Source == "ticket.holder_parent":
						depth--
					case eff.Assign.Unit.Source == "input.unit":
						depth, local = 0, p.Unit == "district"
					case eff.Assign.To != "":
						depth, local = 0, false
					}
				case eff.Set != nil:
					for _, k := range slices.Sorted(maps.Keys(eff.Set)) {
						err = errors.Join(err, compile(where, eff.Set[k], rules.Any))
					}
				case eff.Deadline != nil:
					err = compile(where, eff.Deadline.Days, rules.Any)
				case eff.Branch != nil:
					err = compile(where, eff.Branch.Units, rules.Any)
				case eff.Link != nil:
					err = compile(where, eff.Link.Ticket, rules.String)
				case eff.CloseBranch:
					err = fmt.Errorf("%s: action %s: the generator makes no co-handling branches", where, name)
				}
				if err != nil {
					return err
				}
			}
			w.depth[i] = max(w.depth[i], depth)
			state = a.Target(state)
			st, _ := w.flow.State(state)
			if key := fmt.Sprint(state, "@", depth, local); st.Category != flow.CategoryClosed && !seen[key] {
				seen[key] = true
				w.showcase = append(w.showcase, Stop{Path: i, Steps: j + 1, State: state})
			}
		}
	}
	return nil
}

// ShowcaseOf is where the newest tickets stop, the paths checked against
// the flows of set: the first point of the paths at each open or draft
// state and hand-down level.
func ShowcaseOf(set *registry.Set) ([]Stop, error) {
	voc, paths, err := Load()
	if err != nil {
		return nil, err
	}
	f, ok := registry.Model[*flow.Flow](set, flow.Kind, paths.Flow)
	if !ok {
		return nil, fmt.Errorf("deploy/gen/paths.yaml: flow %q is not in the running configuration", paths.Flow)
	}
	w := &world{voc: voc, paths: paths, flow: f, programs: map[string]*rules.Program{}}
	if err := w.checkPaths(); err != nil {
		return nil, err
	}
	return w.showcase, nil
}

func cdf(weights []float64) []float64 {
	out := make([]float64, len(weights))
	sum := 0.0
	for i, w := range weights {
		sum += w
		out[i] = sum
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func pick(r *rand.Rand, cdf []float64) int {
	x := r.Float64()
	for i, c := range cdf {
		if x < c {
			return i
		}
	}
	return len(cdf) - 1
}

func one[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// generated is one generated ticket with its history.
type generated struct {
	ticket.Ticket
	events []event
	unit   string // the topic's unit, for the numbers of the batch
	links  []link
}

// link is a link effect's: to the ticket numbered other (masterSlot: the
// ticket written before this one).
type link struct {
	other, relation string
	at              time.Time
}

// masterSlot stands for the number of the ticket written before, known
// only when the batch is numbered.
const masterSlot = "{master}"

type event struct {
	action   string
	actor    actor
	from, to string
	input    map[string]any
	at       time.Time
	// holder is the unit holding the ticket when the action was taken
	// (none for the creating one), stepDue the step's limit then running.
	holder  *int64
	stepDue *time.Time
}

// caller is someone who calls, the same person each time the index comes
// up again.
type caller struct {
	name, phone, contact string
	company              string
	place                place
	community            string
	detail               string
}

func (w *world) caller(seed uint64, index int) caller {
	r := rand.New(rand.NewPCG(seed^0xca11e5, uint64(index)))
	v := w.voc
	c := caller{name: one(r, v.Surnames) + one(r, v.Given)}
	if r.IntN(2) == 0 {
		c.name += one(r, v.Given)
	}
	if r.IntN(10) < 8 {
		c.phone = one(r, v.MobilePrefixes) + fmt.Sprintf("%08d", r.IntN(100_000_000))
	} else {
		c.phone = v.LandlinePrefix + fmt.Sprintf("%07d", 2_000_000+r.IntN(7_000_000))
	}
	if r.IntN(10) < 3 {
		c.contact = one(r, v.MobilePrefixes) + fmt.Sprintf("%08d", r.IntN(100_000_000))
	}
	if r.IntN(100) < 8 {
		c.company = one(r, v.Companies)
	}
	c.place = one(r, w.places)
	if len(c.place.communities) > 0 && r.IntN(4) > 0 {
		c.community = one(r, c.place.communities)
	}
	c.detail = fmt.Sprintf("%s%d号%s%d号楼%d单元%d%02d室", one(r, v.Roads), 1+r.IntN(300), one(r, v.Complexes), 1+r.IntN(40), 1+r.IntN(6), 1+r.IntN(28), 1+r.IntN(4))
	return c
}

var channels = []struct {
	name   string
	weight float64
}{{"电话", 70}, {"微信", 9}, {"网站", 5}, {"小程序", 5}, {"手机 App", 3}, {"自治区 12345 平台", 4}, {"领导信箱", 2}, {"短信", 2}}

var channelCDF = func() []float64 {
	var w []float64
	for _, c := range channels {
		w = append(w, c.weight)
	}
	return cdf(w)
}()

func (w *world) ticket(seed uint64, i, callers int, created, now time.Time, stop *Stop) (generated, error) {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	// Three in ten tickets come from a small set of frequent callers.
	var ci int
	if r.IntN(10) < 3 {
		ci = r.IntN(max(callers/50, 1))
	} else {
		ci = r.IntN(callers)
	}
	pi := pick(r, w.pathCDF)
	if stop != nil {
		pi = stop.Path
	}
	path := w.paths.Paths[pi]
	// A path handing tickets down to a community needs a caller living in
	// a street that has communities; the showcase's district paths, a
	// caller in the showcase district. The next such caller is taken.
	c := w.caller(seed, ci)
	for n := 0; !w.fits(c, pi, stop); n++ {
		if n == 10_000 {
			return generated{}, fmt.Errorf("deploy/gen/paths.yaml: paths[%d]: no caller lives where the path needs (a street with communities, or district %s)", pi, w.paths.Showcase.District)
		}
		ci++
		c = w.caller(seed, ci)
	}
	topic := w.voc.Topics[pick(r, w.topicCDF[int(created.Month())-1])]
	for n := 0; path.Unit == "city" && (topic.Unit == "street" || topic.Unit == "district"); n++ {
		if n == 1000 {
			return generated{}, fmt.Errorf("deploy/gen/paths.yaml: paths[%d]: no topic is handled by a unit under the city", pi)
		}
		topic = w.voc.Topics[pick(r, w.topicCDF[int(created.Month())-1])]
	}
	slots := w.slots(r, c)
	fill := func(s string) string { return fillSlots(s, slots) }
	// In name order, since map order is random and a seed must give the
	// same tickets.
	types := slices.Sorted(maps.Keys(topic.Types))
	typeWeights := make([]float64, len(types))
	for i, name := range types {
		typeWeights[i] = float64(topic.Types[name])
	}
	address := map[string]any{"district": c.place.district, "street": c.place.street, "detail": c.detail}
	if c.community != "" {
		address["community"] = c.community
	}
	// The registration: all of it goes in with the paths' form (登记), what
	// another creating action's form has (全媒体接入) with that action.
	reg := map[string]any{
		"caller": c.name, "caller_phone": c.phone, "caller_type": "个人", "address": address,
		"type": types[pick(r, cdf(typeWeights))], "category": topic.Category, "urgency": "一般",
		"title": fill(one(r, topic.Titles)), "content": fill(one(r, topic.Bodies)), "confidential": r.IntN(50) == 0,
	}
	if c.contact != "" {
		reg["contact_phone"] = c.contact
	}
	if c.company != "" {
		reg["caller_type"], reg["company"] = "企业", c.company
	}
	if r.Float64() < topic.Urgent {
		reg["urgency"] = "紧急"
	}
	ch := channels[pick(r, channelCDF)].name
	first, _ := w.flow.Action(path.Actions[0])
	if ch == "电话" && first.Form != nil && first.Form.Name != w.paths.Form {
		ch = "微信" // a chat session's ticket
	}
	reg["channel"] = ch
	if ch == "电话" {
		reg["call_id"] = fmt.Sprintf("CALL-%s-%06d", created.Format("20060102150405"), i%1_000_000)
		reg["recording"] = fmt.Sprintf("recordings/%s/%s-%06d.wav", created.Format("2006/01/02"), created.Format("150405"), i%1_000_000)
	} else if first.Form != nil && first.Form.Name != w.paths.Form {
		reg["session_id"] = fmt.Sprintf("S%s%06d", created.Format("20060102150405"), i%1_000_000)
	}
	fields := map[string]any{}
	unit := topic.Unit
	switch {
	case path.Unit == "district", unit == "district":
		unit = c.place.district
	case unit == "street":
		unit = c.place.street
	}
	reply := fill(one(r, topic.Replies))

	age := now.Sub(created)
	settle := time.Duration(w.paths.SettleDays) * 24 * time.Hour
	agent := one(r, w.agents)
	center := w.units[w.paths.Center]
	t := generated{unit: unit}
	t.Ticket = ticket.Ticket{Flow: w.flow.Name, FlowVersion: w.flowVersion, Fields: fields, Inputs: map[string]map[string]any{}, Counts: map[string]int{}, CreatedAt: created}
	at := created
	state := ""
	// The ticket as the engine would hold it: its unit and user change by
	// the effects of the flow's actions, evaluated here as there.
	var holder *unitInfo
	holderUser := ""
	cal := w.flow.Calendar()
	steps := len(path.Actions)
	if stop != nil {
		steps = stop.Steps
	}
	for n, name := range path.Actions[:steps] {
		a, _ := w.flow.Action(name)
		if n > 0 {
			d := w.paths.Delays[name]
			if d == [2]float64{} {
				d = w.paths.Delays["default"]
			}
			delay := time.Duration((d[0] + r.Float64()*(d[1]-d[0])) * float64(time.Hour))
			if stop != nil {
				// A showcase ticket takes every step up to its stop
				// before now, its delays shortened to fit.
				delay = min(delay, now.Sub(at)/time.Duration(steps-n+1))
			}
			at = at.Add(delay)
			// A young ticket is still on its way: it stops at the first
			// action that lies in the future or, now and then, earlier.
			if stop == nil && (at.After(now) || (age < settle && r.Float64() < 0.5*(1-float64(age)/float64(settle)))) {
				break
			}
		}
		// Whoever the flow lets take the action does: a person of the
		// holding unit where the action is the holder's, the ticket's
		// agent or another of the centre's people with the role otherwise.
		by, err := w.actor(r, a, agent, holder, holderUser)
		if err != nil {
			return t, fmt.Errorf("deploy/gen/paths.yaml: paths[%d] (topic %s): %w", pi, topic.Name, err)
		}
		input := map[string]any{}
		if n == 0 || a.Form != nil && a.Form.Content {
			all := a.Form == nil || a.Form.Name == w.paths.Form
			var names []string
			if !all {
				names = w.formFields[a.Form.Name]
			}
			for k, v := range reg {
				if all && k != "session_id" || slices.Contains(names, k) {
					input[k] = v
				}
			}
		}
		for k, v := range w.paths.Inputs[name] {
			if s, ok := v.(string); ok {
				if v, err = w.fillInput(s, unit, reply, c, holder, by); err != nil {
					return t, fmt.Errorf("deploy/gen/paths.yaml: paths[%d] action %s: %w", pi, name, err)
				}
			}
			input[k] = v
		}
		env := flow.Env{Ticket: flow.TicketVars{State: state, HolderUser: holderUser, Fields: fields, Inputs: inputsEnv(t.Inputs),
			Counts: maps.Clone(t.Counts), Created: created}, Input: input,
			Actor: flow.ActorVars{Username: by.username, Roles: by.roles, Unit: by.unit, UnitKind: w.units[by.unit].kind}, Now: at}
		if holder != nil {
			env.Ticket.HolderUnit, env.Ticket.HolderUnitKind = holder.code, holder.kind
			env.Ticket.HolderParent, env.Ticket.HolderParentKind = holder.parent, holder.parentKind
		}
		if t.Deadline != nil {
			env.Ticket.Deadline = *t.Deadline
		}
		if t.StepDeadline != nil {
			env.Ticket.StepDeadline = *t.StepDeadline
		}
		for _, g := range a.Guards {
			ok, err := w.programs[g.Rule.Source].Run(env)
			if err != nil {
				return t, err
			}
			if ok != true {
				return t, fmt.Errorf("deploy/gen/paths.yaml: paths[%d] (topic %s): the flow refuses %s: %s", pi, topic.Name, name, g.Message)
			}
		}
		// As the engine keeps them: the registration (and a content
		// action's input) in the fields, any other action's as its own.
		switch {
		case n == 0 || a.Form != nil && a.Form.Content:
			for k, v := range input {
				fields[k] = v
			}
		case a.Form != nil:
			t.Inputs[name] = input
		}
		var before *int64
		if holder != nil {
			before = &holder.id
		}
		stepBefore := t.StepDeadline
		for _, eff := range a.Effects {
			if err := w.apply(&t, eff, env, at, agent, center, &holder, &holderUser); err != nil {
				return t, fmt.Errorf("deploy/gen/paths.yaml: paths[%d] (topic %s) action %s: %w", pi, topic.Name, name, err)
			}
		}
		to := a.Target(state)
		st, _ := w.flow.State(to)
		switch {
		case st.Limit == nil:
			t.StepDeadline = nil
		case to != state || t.StepDeadline == nil || holder == nil || before == nil || holder.id != *before:
			due := st.Limit.Due(cal, at)
			t.StepDeadline = &due
		}
		if st.Category == flow.CategoryClosed {
			closed := at
			t.ClosedAt = &closed
		} else {
			t.ClosedAt = nil
		}
		t.events = append(t.events, event{action: name, actor: by, from: state, to: to, input: input, at: at, holder: before, stepDue: stepBefore})
		state = to
		t.Counts[name]++
	}
	t.State = state
	t.Version = len(t.events)
	// Nobody holds a draft: it stays in its creator's unit.
	t.ScopePath = w.units[agent.unit].path
	if holder != nil {
		t.HolderUnit = holder.ref()
		t.ScopePath = holder.path
	}
	t.HolderUser = holderUser
	t.CreatorID, t.Creator = agent.id, agent.username
	return t, nil
}

// fits says whether caller c lives where path pi needs.
func (w *world) fits(c caller, pi int, stop *Stop) bool {
	if w.depth[pi] >= 2 && len(c.place.communities) == 0 {
		return false
	}
	if stop != nil && w.paths.Paths[pi].Unit == "district" && w.paths.Showcase.District != "" {
		return c.place.district == w.paths.Showcase.District
	}
	return true
}

// actor picks who takes action a now.
func (w *world) actor(r *rand.Rand, a *flow.Action, agent actor, holder *unitInfo, holderUser string) (actor, error) {
	switch a.Holder {
	case "unit":
		if holder == nil {
			return actor{}, fmt.Errorf("%s is the holding unit's, and no unit holds the ticket", a.Name)
		}
		var can []actor
		for _, u := range w.byUnit[holder.code] {
			if u.has(a.Roles) {
				can = append(can, u)
			}
		}
		if len(can) == 0 {
			return actor{}, fmt.Errorf("%s: no account of %s (%s) has a role that may take it (give the unit a demo account)", a.Name, holder.name, holder.code)
		}
		return one(r, can), nil
	case "user":
		if holder == nil {
			return actor{}, fmt.Errorf("%s is the holding user's, and nobody holds the ticket", a.Name)
		}
		for _, u := range w.byUnit[holder.code] {
			if u.username == holderUser && u.has(a.Roles) {
				return u, nil
			}
		}
		return actor{}, fmt.Errorf("%s is the holding user's, and %q may not take it", a.Name, holderUser)
	case "", "unit-or-above":
		if agent.has(a.Roles) {
			return agent, nil
		}
		var can []actor
		for _, u := range w.byUnit[w.paths.Center] {
			if u.has(a.Roles) {
				can = append(can, u)
			}
		}
		if len(can) == 0 {
			return actor{}, fmt.Errorf("%s: no account of the centre has a role that may take it", a.Name)
		}
		return one(r, can), nil
	}
	return actor{}, fmt.Errorf("%s: the generator does not take actions of holder rule %q", a.Name, a.Holder)
}

// fillInput fills the slots of an input value: {unit} the path's unit,
// {reply} one of the topic's replies, {master} (left for write) the ticket
// written before, {below}
// the unit of the caller's address directly under the holder (the street
// under a district, the community under a street), {clerk} a clerk of the
// holding unit (the one acting, if a clerk).
func (w *world) fillInput(s, unit, reply string, c caller, holder *unitInfo, by actor) (any, error) {
	if strings.Contains(s, "{below}") {
		below := ""
		switch {
		case holder == nil:
		case holder.code == c.place.district:
			below = c.place.street
		case holder.code == c.place.street:
			below = c.community
			if below == "" && len(c.place.communities) > 0 {
				below = c.place.communities[0]
			}
		}
		if below == "" {
			return nil, fmt.Errorf("no unit of the caller's address is directly under the holder")
		}
		s = strings.ReplaceAll(s, "{below}", below)
	}
	if strings.Contains(s, "{clerk}") {
		clerk := ""
		if slices.Contains(by.roles, "clerk") {
			clerk = by.username
		} else if holder != nil {
			for _, u := range w.byUnit[holder.code] {
				if slices.Contains(u.roles, "clerk") {
					clerk = u.username
					break
				}
			}
		}
		if clerk == "" {
			return nil, fmt.Errorf("the holding unit has no clerk")
		}
		s = strings.ReplaceAll(s, "{clerk}", clerk)
	}
	return strings.NewReplacer("{unit}", unit, "{reply}", reply).Replace(s), nil
}

// inputsEnv is a ticket's inputs as expressions see them.
func inputsEnv(in map[string]map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// apply performs one effect on t as the engine does (core/flow/engine.go
// apply and assign): holders, fields and the deadline's clock. Notices,
// links and procedure calls leave nothing on the ticket.
func (w *world) apply(t *generated, eff flow.Effect, env flow.Env, now time.Time, creator actor, center unitInfo, holder **unitInfo, holderUser *string) error {
	run := func(e rules.Expr) (any, error) { return w.programs[e.Source].Run(env) }
	switch {
	case eff.Assign != nil:
		as := eff.Assign
		switch as.To {
		case "creator":
			u, ok := w.units[creator.unit]
			if !ok {
				u = center
			}
			*holder, *holderUser = &u, creator.username
			return nil
		case "nobody":
			*holder, *holderUser = nil, ""
			return nil
		}
		if as.Unit.Source != "" {
			v, err := run(as.Unit)
			if err != nil {
				return err
			}
			code, _ := v.(string)
			u, ok := w.units[code]
			if !ok {
				return fmt.Errorf("unit %q does not exist", code)
			}
			if as.Below == "holder" && (*holder == nil || u.parent != (*holder).code) {
				return fmt.Errorf("unit %s is not directly under the holder", code)
			}
			*holder, *holderUser = &u, ""
		}
		if as.User.Source != "" {
			v, err := run(as.User)
			if err != nil {
				return err
			}
			user, _ := v.(string)
			if _, ok := w.userIDs[user]; user != "" && !ok {
				return fmt.Errorf("user %q does not exist", user)
			}
			*holderUser = user
		}
	case eff.Set != nil:
		for _, k := range slices.Sorted(maps.Keys(eff.Set)) {
			v, err := run(eff.Set[k])
			if err != nil {
				return err
			}
			t.Fields[k] = v
		}
	case eff.Link != nil:
		v, err := run(eff.Link.Ticket)
		if err != nil {
			return err
		}
		other, _ := v.(string)
		t.links = append(t.links, link{other: other, relation: eff.Link.Relation, at: now})
	case eff.Branch != nil:
		v, err := run(eff.Branch.Units)
		if err != nil {
			return err
		}
		if l, ok := v.([]any); !ok || len(l) > 0 {
			return fmt.Errorf("the generator makes no co-handling branches (co_units %v)", v)
		}
	case eff.Deadline != nil:
		days := 0
		if d := eff.Deadline; d.Op == "set" || d.Op == "extend" {
			n, err := w.flow.DeadlineDays(env, d)
			if err != nil {
				return err
			}
			days = n
		}
		t.MoveClock(w.flow.Calendar(), now, eff.Deadline.Op, days)
	}
	return nil
}

func (w *world) slots(r *rand.Rand, c caller) map[string]string {
	v := w.voc
	return map[string]string{
		"{district}": c.place.districtName, "{street}": c.place.streetName, "{road}": one(r, v.Roads),
		"{complex}": one(r, v.Complexes), "{building}": strconv.Itoa(1 + r.IntN(40)), "{unit}": strconv.Itoa(1 + r.IntN(6)),
		"{room}": fmt.Sprintf("%d%02d", 1+r.IntN(28), 1+r.IntN(4)), "{days}": strconv.Itoa(2 + r.IntN(29)),
		"{temp}": strconv.Itoa(8 + r.IntN(10)), "{amount}": strconv.Itoa(100 * (5 + r.IntN(500))), "{months}": strconv.Itoa(1 + r.IntN(12)),
		"{bus}": one(r, v.BusLines), "{company}": one(r, v.Companies), "{shop}": one(r, v.Shops),
		"{time}": fmt.Sprintf("%d点", []int{6, 7, 20, 21, 22, 23, 0, 1, 2}[r.IntN(9)]), "{name}": one(r, v.Surnames) + one(r, v.Given),
		"{count}": strconv.Itoa(2 + r.IntN(9)),
	}
}

func fillSlots(s string, slots map[string]string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		key := s[i : i+j+1]
		if v, ok := slots[key]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(key)
		}
		s = s[i+j+1:]
	}
}

// write stores a batch in one transaction: numbers from the day counters,
// ids from the tickets sequence, then COPY of tickets (through a staging
// table, since ids are generated always), events and index rows.
func (w *world) write(ctx context.Context, pool *pgxpool.Pool, batch []generated, prevNumber *string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Numbers continue each stem's counter (the day's, by default),
		// reserved for the whole batch in one statement.
		perStem := map[string]int{}
		for _, t := range batch {
			perStem[w.flow.NumberStem(t.CreatedAt)]++
		}
		next, err := w.flow.Reserve(ctx, tx, perStem)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('tickets', 'id')) FROM generate_series(1, $1)`, len(batch))
		if err != nil {
			return fmt.Errorf("reserving ticket ids: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("reserving ticket ids: %w", err)
		}
		// Staging tables: tickets' ids are generated always, and pgx has no
		// binary encoding of tsvector.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS gen_tickets (LIKE tickets) ON COMMIT DELETE ROWS;
			CREATE TEMP TABLE IF NOT EXISTS gen_search (ticket_id bigint, version int, created_at timestamptz, open boolean, doc text, facets text[], callers text[]) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("staging tickets: %w", err)
		}
		ticketRows := make([][]any, len(batch))
		var eventRows, searchRows, linkRows [][]any
		names := func(context.Context, []string) (map[string]string, error) { return w.unitNames, nil }
		for i := range batch {
			t := &batch[i]
			t.ID = ids[i]
			stem := w.flow.NumberStem(t.CreatedAt)
			t.Number = w.flow.FormatNumber(stem, next[stem])
			next[stem]++
			// A merge names the ticket written before this one.
			master := func(m map[string]any) {
				for k, v := range m {
					if v == masterSlot {
						m[k] = *prevNumber
					}
				}
			}
			for _, ev := range t.events {
				master(ev.input)
			}
			for _, in := range t.Inputs {
				master(in)
			}
			for _, l := range t.links {
				if l.other == masterSlot {
					l.other = *prevNumber
				}
				linkRows = append(linkRows, []any{t.ID, l.other, l.relation, l.at})
			}
			fieldsJSON, err := json.Marshal(t.Fields)
			if err != nil {
				return err
			}
			countsJSON, _ := json.Marshal(t.Counts)
			inputsJSON, _ := json.Marshal(t.Inputs)
			updated := t.events[len(t.events)-1].at
			var holderUser *int64
			if id, ok := w.userIDs[t.HolderUser]; ok {
				holderUser = &id
			}
			var holderUnit *int64
			if t.HolderUnit != nil {
				holderUnit = &t.HolderUnit.ID
			}
			ticketRows[i] = []any{t.ID, t.Number, t.Flow, t.FlowVersion, t.State, t.Version, holderUnit, holderUser, t.ScopePath, t.CreatorID,
				string(fieldsJSON), string(countsJSON), t.Deadline, t.PausedRemaining, t.CreatedAt, updated, t.ClosedAt, string(inputsJSON), t.StepDeadline}
			for v, ev := range t.events {
				in, _ := json.Marshal(ev.input)
				eventRows = append(eventRows, []any{t.ID, v + 1, t.FlowVersion, ev.action, ev.actor.id, ev.actor.username, ev.from, ev.to, string(in), ev.at,
					ev.holder, ev.stepDue})
			}
			row, err := w.spec.BuildIndexRow(ctx, t.Ticket, names)
			if err != nil {
				return err
			}
			searchRows = append(searchRows, []any{row.TicketID, row.Version, row.CreatedAt, row.Open, row.Doc, row.Facets, row.Callers})
			*prevNumber = t.Number
		}
		cols := []string{"id", "number", "flow", "flow_version", "state", "version", "holder_unit_id", "holder_user_id", "scope_path", "creator_id",
			"fields", "counts", "deadline", "paused_remaining", "created_at", "updated_at", "closed_at", "inputs", "step_deadline"}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gen_tickets"}, cols, pgx.CopyFromRows(ticketRows)); err != nil {
			return fmt.Errorf("copying tickets: %w", err)
		}
		list := strings.Join(cols, ", ")
		if _, err := tx.Exec(ctx, `INSERT INTO tickets (`+list+`) OVERRIDING SYSTEM VALUE SELECT `+list+` FROM gen_tickets`); err != nil {
			return fmt.Errorf("storing tickets: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ticket_events"}, []string{"ticket_id", "ticket_version", "flow_version", "action", "actor_id", "actor", "from_state", "to_state", "input", "at",
			"holder_unit_id", "step_due"},
			pgx.CopyFromRows(eventRows)); err != nil {
			return fmt.Errorf("copying events: %w", err)
		}
		if len(linkRows) > 0 {
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS gen_links (ticket_id bigint, other text, relation text, at timestamptz) ON COMMIT DELETE ROWS`); err != nil {
				return fmt.Errorf("staging links: %w", err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gen_links"}, []string{"ticket_id", "other", "relation", "at"}, pgx.CopyFromRows(linkRows)); err != nil {
				return fmt.Errorf("copying links: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ticket_links (ticket_id, other_id, relation, at)
				SELECT l.ticket_id, t.id, l.relation, l.at FROM gen_links l JOIN tickets t ON t.number = l.other ON CONFLICT DO NOTHING`); err != nil {
				return fmt.Errorf("storing links: %w", err)
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gen_search"}, []string{"ticket_id", "version", "created_at", "open", "doc", "facets", "callers"},
			pgx.CopyFromRows(searchRows)); err != nil {
			return fmt.Errorf("copying index rows: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ticket_search (ticket_id, version, created_at, open, doc, facets, callers)
			SELECT ticket_id, version, created_at, open, doc::tsvector, facets, callers FROM gen_search`); err != nil {
			return fmt.Errorf("storing index rows: %w", err)
		}
		return nil
	})
}

// dropSearchIndexes drops ticket_search's GIN indexes and returns what
// builds them again from their recorded definitions.
func dropSearchIndexes(ctx context.Context, pool *pgxpool.Pool) (func() error, error) {
	rows, err := pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ticket_search' AND indexdef LIKE '%USING gin%'`)
	if err != nil {
		return nil, fmt.Errorf("reading the search indexes: %w", err)
	}
	type index struct{ name, def string }
	var indexes []index
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.name, &ix.def); err != nil {
			rows.Close()
			return nil, err
		}
		indexes = append(indexes, ix)
	}
	rows.Close()
	for _, ix := range indexes {
		if _, err := pool.Exec(ctx, `DROP INDEX `+pgx.Identifier{ix.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("dropping %s: %w", ix.name, err)
		}
	}
	return func() error {
		// Its own context: the indexes come back even when generating
		// was cancelled.
		bg := context.Background()
		conn, err := pool.Acquire(bg)
		if err != nil {
			return err
		}
		defer conn.Release()
		if _, err := conn.Exec(bg, `SET maintenance_work_mem = '512MB'`); err != nil {
			return err
		}
		for _, ix := range indexes {
			if _, err := conn.Exec(bg, ix.def); err != nil {
				return fmt.Errorf("building %s again: %w", ix.name, err)
			}
		}
		_, err = conn.Exec(bg, `VACUUM ANALYZE ticket_search; ANALYZE tickets; ANALYZE ticket_events`)
		return err
	}, nil
}
