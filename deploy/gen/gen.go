// Package gen generates realistic Hohhot tickets for demos, tests and
// benchmarks: callers (some calling again), addresses in the organisation's
// districts, streets and communities, topics with Chinese titles and
// bodies of varied wording, channels, urgency, and histories along the
// running flow's actions, spread over years. The same seed gives the same
// tickets. Rows are written with COPY: a million tickets in minutes.
//
// The vocabulary is hohhot.yaml; how tickets move through the flow is
// paths.yaml, checked against the running flow before anything is written.
package gen

import (
	"context"
	_ "embed"
	"encoding/json"
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
	"github.com/hotline12345/hotline/core/registry"
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
	ToUnit     []string                  `yaml:"to_unit"`
	ToCenter   []string                  `yaml:"to_center"`
	Paths      []Path                    `yaml:"paths"`
	Delays     map[string][2]float64     `yaml:"delays"`
	Inputs     map[string]map[string]any `yaml:"inputs"`
}

// Path is a weighted sequence of actions.
type Path struct {
	Weight  int      `yaml:"weight"`
	Actions []string `yaml:"actions"`
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
	id   int64
	code string
	name string
	kind string
	path string
}

// world is what the generator reads from the database and configuration
// before writing.
type world struct {
	voc         *Vocabulary
	paths       *Paths
	flow        *flow.Flow
	flowVersion int
	spec        *flow.IndexSpec
	units       map[string]unitInfo
	places      []place
	agents      []actor
	unitActors  map[string]actor
	topicCDF    [12][]float64 // per month
	pathCDF     []float64
	unitNames   map[string]string
}

type actor struct {
	id       int64
	username string
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
	var prevNumber string
	for from := 0; from < opts.Tickets; from += opts.Batch {
		to := min(from+opts.Batch, opts.Tickets)
		batch := make([]ticket, 0, to-from)
		for i := from; i < to; i++ {
			created := start.Add(time.Duration(i)*step + time.Duration(rand.New(rand.NewPCG(opts.Seed, uint64(i)^0x5eed)).Int64N(int64(step)+1)))
			t, err := w.ticket(opts.Seed, i, callers, created, opts.Now, prevNumber)
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
		return flow.RecordIndexSpec(ctx, pool, w.spec)
	}
	return nil
}

func prepare(ctx context.Context, pool *pgxpool.Pool, set *registry.Set) (*world, error) {
	voc, paths, err := Load()
	if err != nil {
		return nil, err
	}
	w := &world{voc: voc, paths: paths, units: map[string]unitInfo{}, unitActors: map[string]actor{}, unitNames: map[string]string{}}
	f, ok := registry.Model[*flow.Flow](set, flow.Kind, paths.Flow)
	if !ok {
		return nil, fmt.Errorf("deploy/gen/paths.yaml: flow %q is not in the running configuration", paths.Flow)
	}
	w.flow = f
	w.spec = flow.SpecOf(set)
	if err := pool.QueryRow(ctx, `SELECT version FROM config_active WHERE kind = $1 AND name = $2`, flow.Kind, f.Name).Scan(&w.flowVersion); err != nil {
		return nil, fmt.Errorf("reading the running version of flow %s: %w", f.Name, err)
	}
	if err := w.checkPaths(); err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, `SELECT u.id, u.code, u.name, u.kind, u.path, COALESCE(p.code, '') FROM units u LEFT JOIN units p ON p.id = u.parent_id WHERE u.active ORDER BY u.path`)
	if err != nil {
		return nil, fmt.Errorf("reading units: %w", err)
	}
	parents := map[string]string{}
	var codes []string
	for rows.Next() {
		var u unitInfo
		var parent string
		if err := rows.Scan(&u.id, &u.code, &u.name, &u.kind, &u.path, &parent); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading units: %w", err)
		}
		w.units[u.code], parents[u.code] = u, parent
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
	// Agents of the centre register; a user of each unit replies.
	rows, err = pool.Query(ctx, `SELECT DISTINCT ON (n.code, u.id) n.code, u.id, u.username FROM users u JOIN units n ON n.id = u.unit_id
		WHERE NOT u.disabled ORDER BY n.code, u.id`)
	if err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	for rows.Next() {
		var code string
		var a actor
		if err := rows.Scan(&code, &a.id, &a.username); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading users: %w", err)
		}
		if code == paths.Center {
			w.agents = append(w.agents, a)
		} else if _, ok := w.unitActors[code]; !ok {
			w.unitActors[code] = a
		}
	}
	rows.Close()
	if len(w.agents) == 0 {
		return nil, fmt.Errorf("no user in the centre unit %q to register tickets", paths.Center)
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

// checkPaths walks every path through the flow.
func (w *world) checkPaths() error {
	for i, p := range w.paths.Paths {
		state := ""
		for j, name := range p.Actions {
			a, ok := w.flow.Action(name)
			if !ok {
				return fmt.Errorf("deploy/gen/paths.yaml: paths[%d].actions[%d]: flow %s has no action %q", i, j, w.flow.Name, name)
			}
			allowed := len(a.From) == 0 && state == ""
			for _, f := range a.From {
				allowed = allowed || f.Name == state
			}
			if !allowed {
				return fmt.Errorf("deploy/gen/paths.yaml: paths[%d].actions[%d]: action %s cannot start from state %q", i, j, name, state)
			}
			state = a.Target(state)
		}
	}
	return nil
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

// ticket is one generated ticket with its history.
type ticket struct {
	flow.Ticket
	events []event
	unit   string // the topic's unit, for the numbers of the batch
}

type event struct {
	action   string
	actor    actor
	from, to string
	input    map[string]any
	at       time.Time
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

func (w *world) ticket(seed uint64, i, callers int, created, now time.Time, prevNumber string) (ticket, error) {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	// Three in ten tickets come from a small set of frequent callers.
	var ci int
	if r.IntN(10) < 3 {
		ci = r.IntN(max(callers/50, 1))
	} else {
		ci = r.IntN(callers)
	}
	c := w.caller(seed, ci)
	topic := w.voc.Topics[pick(r, w.topicCDF[int(created.Month())-1])]
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
	fields := map[string]any{
		"caller": c.name, "caller_phone": c.phone, "caller_type": "个人", "address": address,
		"type": types[pick(r, cdf(typeWeights))], "category": topic.Category, "urgency": "一般",
		"title": fill(one(r, topic.Titles)), "content": fill(one(r, topic.Bodies)), "confidential": r.IntN(50) == 0,
	}
	if c.contact != "" {
		fields["contact_phone"] = c.contact
	}
	if c.company != "" {
		fields["caller_type"], fields["company"] = "企业", c.company
	}
	if r.Float64() < topic.Urgent {
		fields["urgency"] = "紧急"
	}
	ch := channels[pick(r, channelCDF)].name
	fields["channel"] = ch
	if ch == "电话" {
		fields["call_id"] = fmt.Sprintf("CALL-%s-%06d", created.Format("20060102150405"), i%1_000_000)
		fields["recording"] = fmt.Sprintf("recordings/%s/%s-%06d.wav", created.Format("2006/01/02"), created.Format("150405"), i%1_000_000)
	}
	unit := topic.Unit
	switch unit {
	case "street":
		unit = c.place.street
	case "district":
		unit = c.place.district
	}
	reply := fill(one(r, topic.Replies))

	path := w.paths.Paths[pick(r, w.pathCDF)]
	age := now.Sub(created)
	settle := time.Duration(w.paths.SettleDays) * 24 * time.Hour
	agent := one(r, w.agents)
	t := ticket{unit: unit}
	t.Ticket = flow.Ticket{Flow: w.flow.Name, FlowVersion: w.flowVersion, Fields: fields, Inputs: map[string]map[string]any{}, Counts: map[string]int{}, CreatedAt: created}
	at := created
	state := ""
	holder := w.paths.Center
	for n, name := range path.Actions {
		a, _ := w.flow.Action(name)
		if n > 0 {
			d := w.paths.Delays[name]
			if d == [2]float64{} {
				d = w.paths.Delays["default"]
			}
			at = at.Add(time.Duration((d[0] + r.Float64()*(d[1]-d[0])) * float64(time.Hour)))
			// A young ticket is still on its way: it stops at the first
			// action that lies in the future or, now and then, earlier.
			if at.After(now) || (age < settle && r.Float64() < 0.5*(1-float64(age)/float64(settle))) {
				break
			}
		}
		input := map[string]any{}
		if n == 0 {
			for k, v := range fields {
				input[k] = v
			}
		}
		for k, v := range w.paths.Inputs[name] {
			if s, ok := v.(string); ok {
				v = strings.NewReplacer("{unit}", unit, "{reply}", reply, "{master}", prevNumber).Replace(s)
			}
			input[k] = v
		}
		// As the engine keeps them: the registration (and a content
		// action's input) in the fields, any other action's as its own.
		if n == 0 || a.Form != nil && a.Form.Content {
			for k, v := range input {
				fields[k] = v
			}
		} else if len(input) > 0 {
			t.Inputs[name] = input
		}
		// Whoever holds the ticket acts on it: the unit's clerk while a
		// unit holds it, an agent of the centre otherwise.
		by := agent
		if holder != w.paths.Center {
			if a, ok := w.unitActors[holder]; ok {
				by = a
			}
		}
		if slices.Contains(w.paths.ToUnit, name) {
			holder = unit
		} else if slices.Contains(w.paths.ToCenter, name) {
			holder = w.paths.Center
		}
		to := a.Target(state)
		t.events = append(t.events, event{action: name, actor: by, from: state, to: to, input: input, at: at})
		state = to
		t.Counts[name]++
	}
	t.State = state
	t.Version = len(t.events)
	hu, ok := w.units[holder]
	if !ok {
		return t, fmt.Errorf("topic %s: unit %q does not exist", topic.Name, holder)
	}
	t.HolderUnit = &flow.UnitRef{ID: hu.id, Code: hu.code, Name: hu.name, Kind: hu.kind, Path: hu.path}
	t.ScopePath = hu.path
	t.CreatorID, t.Creator = agent.id, agent.username
	st, _ := w.flow.State(state)
	last := t.events[len(t.events)-1].at
	if st.Category == flow.CategoryClosed {
		t.ClosedAt = &last
	} else if st.Category == flow.CategoryOpen {
		days := 7
		if fields["urgency"] == "紧急" {
			days = 3
		}
		d := created.Add(time.Duration(days) * 24 * time.Hour)
		t.Deadline = &d
	}
	return t, nil
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
func (w *world) write(ctx context.Context, pool *pgxpool.Pool, batch []ticket, prevNumber *string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		perDay := map[time.Time]int{}
		loc := w.flow.Calendar().Location()
		dayOf := func(t time.Time) time.Time {
			l := t.In(loc)
			return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
		}
		for _, t := range batch {
			perDay[dayOf(t.CreatedAt)]++
		}
		// Numbers continue each day's counter, reserved for the whole
		// batch in one statement.
		days, counts := make([]time.Time, 0, len(perDay)), make([]int32, 0, len(perDay))
		for day, n := range perDay {
			days, counts = append(days, day), append(counts, int32(n))
		}
		next := map[time.Time]int{}
		crows, err := tx.Query(ctx, `INSERT INTO ticket_counters (day, n) SELECT * FROM unnest($1::date[], $2::int[])
			ON CONFLICT (day) DO UPDATE SET n = ticket_counters.n + EXCLUDED.n RETURNING day, n`, days, counts)
		if err != nil {
			return fmt.Errorf("numbering tickets: %w", err)
		}
		for crows.Next() {
			var day time.Time
			var last int
			if err := crows.Scan(&day, &last); err != nil {
				crows.Close()
				return fmt.Errorf("numbering tickets: %w", err)
			}
			next[day] = last - perDay[day] + 1
		}
		crows.Close()
		if err := crows.Err(); err != nil {
			return fmt.Errorf("numbering tickets: %w", err)
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
		var eventRows, searchRows [][]any
		names := func(context.Context, []string) (map[string]string, error) { return w.unitNames, nil }
		for i := range batch {
			t := &batch[i]
			t.ID = ids[i]
			day := dayOf(t.CreatedAt)
			t.Number = fmt.Sprintf("%s%06d", t.CreatedAt.In(loc).Format("20060102"), next[day])
			next[day]++
			fieldsJSON, err := json.Marshal(t.Fields)
			if err != nil {
				return err
			}
			countsJSON, _ := json.Marshal(t.Counts)
			inputsJSON, _ := json.Marshal(t.Inputs)
			updated := t.events[len(t.events)-1].at
			ticketRows[i] = []any{t.ID, t.Number, t.Flow, t.FlowVersion, t.State, t.Version, t.HolderUnit.ID, nil, t.ScopePath, t.CreatorID,
				string(fieldsJSON), string(countsJSON), t.Deadline, nil, t.CreatedAt, updated, t.ClosedAt, string(inputsJSON)}
			for v, ev := range t.events {
				in, _ := json.Marshal(ev.input)
				eventRows = append(eventRows, []any{t.ID, v + 1, t.FlowVersion, ev.action, ev.actor.id, ev.actor.username, ev.from, ev.to, string(in), ev.at})
			}
			row, err := w.spec.BuildIndexRow(ctx, t.Ticket, names)
			if err != nil {
				return err
			}
			searchRows = append(searchRows, []any{row.TicketID, row.Version, row.CreatedAt, row.Open, row.Doc, row.Facets, row.Callers})
			*prevNumber = t.Number
		}
		cols := []string{"id", "number", "flow", "flow_version", "state", "version", "holder_unit_id", "holder_user_id", "scope_path", "creator_id",
			"fields", "counts", "deadline", "paused_remaining", "created_at", "updated_at", "closed_at", "inputs"}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gen_tickets"}, cols, pgx.CopyFromRows(ticketRows)); err != nil {
			return fmt.Errorf("copying tickets: %w", err)
		}
		list := strings.Join(cols, ", ")
		if _, err := tx.Exec(ctx, `INSERT INTO tickets (`+list+`) OVERRIDING SYSTEM VALUE SELECT `+list+` FROM gen_tickets`); err != nil {
			return fmt.Errorf("storing tickets: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ticket_events"}, []string{"ticket_id", "ticket_version", "flow_version", "action", "actor_id", "actor", "from_state", "to_state", "input", "at"},
			pgx.CopyFromRows(eventRows)); err != nil {
			return fmt.Errorf("copying events: %w", err)
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
