package configstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/registry"
)

// Module is the configuration of a node: the GraphQL API of what runs,
// its versions and diffs, reload and publish (for the visual editors); and,
// started, the following of the database's active set (and with Watch, of
// the folders' edits).
type Module struct {
	Manager *Manager
	// Poll is how often the generation is checked without a notification
	// (HOTLINE_CONFIG_POLL); zero does not follow (a node not running).
	Poll time.Duration
	// Watch, when set, is how often the folders are looked at for edits
	// to publish (serve --watch).
	Watch time.Duration

	jobs *module.Jobs
}

// Name implements gql.Module.
func (*Module) Name() string { return "config" }

func need(rp graphql.ResolveParams, perm string) (*identity.Principal, error) {
	p, err := identity.PrincipalOf(rp)
	if err != nil {
		return nil, err
	}
	return p, p.Require(perm)
}

// Register implements gql.Module.
func (m *Module) Register(b *gql.Builder) error {
	problemType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "ConfigProblem",
		Description: "配置问题：文件、行、列和说明 (a lint problem at file:line:col).",
		Fields: graphql.Fields{
			"file":    &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(diag.Diagnostic).Pos.File, nil }},
			"line":    &graphql.Field{Type: gql.NonNull(graphql.Int), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(diag.Diagnostic).Pos.Line, nil }},
			"col":     &graphql.Field{Type: gql.NonNull(graphql.Int), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(diag.Diagnostic).Pos.Col, nil }},
			"message": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(diag.Diagnostic).Message, nil }},
			"text":    &graphql.Field{Type: gql.NonNull(graphql.String), Description: "file:line:col: message", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(diag.Diagnostic).String(), nil }},
		},
	})
	versionType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "ConfigVersion",
		Description: "配置文档的一个不可变版本 (an immutable version of a configuration document).",
		Fields: graphql.Fields{
			"kind":      &graphql.Field{Type: gql.NonNull(graphql.String)},
			"name":      &graphql.Field{Type: gql.NonNull(graphql.String)},
			"version":   &graphql.Field{Type: gql.NonNull(graphql.Int)},
			"path":      &graphql.Field{Type: gql.NonNull(graphql.String)},
			"source":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"digest":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"createdAt": &graphql.Field{Type: gql.NonNull(gql.Time)},
			"createdBy": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"note":      &graphql.Field{Type: gql.NonNull(graphql.String)},
			"active":    &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "是否为正在运行的版本"},
		},
	})
	changeType := graphql.NewObject(graphql.ObjectConfig{
		Name: "ConfigChange",
		Fields: graphql.Fields{
			"kind":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"name":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"version": &graphql.Field{Type: gql.NonNull(graphql.Int)},
			"status":  &graphql.Field{Type: gql.NonNull(graphql.String), Description: "added, changed 或 removed"},
		},
	})
	resultType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "ConfigResult",
		Description: "加载或发布的结果：有问题时未做任何更改，正在运行的版本保持不变。",
		Fields: graphql.Fields{
			"ok":       &graphql.Field{Type: gql.NonNull(graphql.Boolean), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Result).Problems.Empty(), nil }},
			"problems": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(problemType))), Resolve: func(p graphql.ResolveParams) (any, error) { return []diag.Diagnostic(p.Source.(Result).Problems), nil }},
			"changes":  &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(changeType))), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Result).Changes, nil }},
		},
	})
	kindType := graphql.NewObject(graphql.ObjectConfig{
		Name: "ConfigKind",
		Fields: graphql.Fields{
			"name":        &graphql.Field{Type: gql.NonNull(graphql.String)},
			"description": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"jsonSchema":  &graphql.Field{Type: gql.JSON, Description: "该类配置的 JSON Schema（脚本等非 YAML 类型为空）"},
		},
	})

	b.Query("configKinds", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(kindType))), Description: "已注册的配置类型",
		Resolve: func(p graphql.ResolveParams) (any, error) {
			if _, err := need(p, identity.PermConfigRead); err != nil {
				return nil, err
			}
			var out []map[string]any
			for _, n := range registry.Default().Names() {
				k, _ := registry.Default().Lookup(n)
				item := map[string]any{"name": n, "description": k.Description}
				if s, err := registry.Default().JSONSchema(n); err == nil {
					item["jsonSchema"] = s
				}
				out = append(out, item)
			}
			return out, nil
		}})
	b.Query("configDocuments", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(versionType))), Description: "正在运行的配置文档（各自的当前版本）",
		Args: graphql.FieldConfigArgument{"kind": {Type: graphql.String}},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			if _, err := need(p, identity.PermConfigRead); err != nil {
				return nil, err
			}
			kind, _ := p.Args["kind"].(string)
			return m.Manager.Store.Active(p.Context, kind)
		}})
	b.Query("configVersions", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(versionType))), Description: "一个配置文档的全部版本，新的在前",
		Args: graphql.FieldConfigArgument{"kind": {Type: gql.NonNull(graphql.String)}, "name": {Type: gql.NonNull(graphql.String)}},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			if _, err := need(p, identity.PermConfigRead); err != nil {
				return nil, err
			}
			return m.Manager.Store.Versions(p.Context, p.Args["kind"].(string), p.Args["name"].(string))
		}})
	b.Query("configDiff", &graphql.Field{Type: gql.NonNull(graphql.String), Description: "两个版本之间的统一格式差异 (unified diff)",
		Args: graphql.FieldConfigArgument{"kind": {Type: gql.NonNull(graphql.String)}, "name": {Type: gql.NonNull(graphql.String)}, "from": {Type: gql.NonNull(graphql.Int)}, "to": {Type: gql.NonNull(graphql.Int)}},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			if _, err := need(p, identity.PermConfigRead); err != nil {
				return nil, err
			}
			d, err := m.Manager.Store.Diff(p.Context, p.Args["kind"].(string), p.Args["name"].(string), p.Args["from"].(int), p.Args["to"].(int))
			if errors.Is(err, ErrNoVersion) {
				return nil, gql.Wrap(gql.NotFound, err, fmt.Sprintf("版本不存在：%v", err))
			}
			return d, err
		}})
	b.Mutation("reloadConfig", &graphql.Field{Type: gql.NonNull(resultType), Description: "发布本节点 flows/、forms/、scripts/ 中自上次加载以来修改过的文档（删除的文档随之停用）；有问题时保持当前版本并返回问题。各节点运行的配置以数据库为准，磁盘上未修改的旧文本不会覆盖已发布的版本",
		Resolve: func(p graphql.ResolveParams) (any, error) {
			pr, err := need(p, identity.PermConfigPublish)
			if err != nil {
				return nil, err
			}
			return m.Manager.Reload(p.Context, pr.Actor())
		}})
	publish := func(p graphql.ResolveParams, kind string) (any, error) {
		pr, err := need(p, identity.PermConfigPublish)
		if err != nil {
			return nil, err
		}
		note, _ := p.Args["note"].(string)
		res, err := m.Manager.Publish(p.Context, pr.Actor(), kind, p.Args["name"].(string), p.Args["source"].(string), note)
		if errors.Is(err, ErrConflict) {
			return nil, gql.Wrap(gql.Conflict, err, "发布期间配置被其他人多次修改，请刷新后重新发布")
		}
		return res, err
	}
	b.Mutation("publishConfig", &graphql.Field{Type: gql.NonNull(resultType), Description: "发布一个配置文档的新文本（供可视化设计器使用）：与其余配置一起校验，全部通过才记入数据库，并在所有节点生效",
		Args: graphql.FieldConfigArgument{
			"kind":   {Type: gql.NonNull(graphql.String)},
			"name":   {Type: gql.NonNull(graphql.String)},
			"source": {Type: gql.NonNull(graphql.String), Description: "文档的完整 YAML 文本"},
			"note":   {Type: graphql.String, Description: "发布说明"},
		},
		Resolve: func(p graphql.ResolveParams) (any, error) { return publish(p, p.Args["kind"].(string)) }})
	// The flow designer's own name for it: a flow is the document most
	// often published.
	b.Mutation("publishFlow", &graphql.Field{Type: gql.NonNull(resultType), Description: "发布流程定义（即 publishConfig(kind: \"flow\")）：连同场景测试一起校验，有问题时返回问题且不生效",
		Args: graphql.FieldConfigArgument{
			"name":   {Type: gql.NonNull(graphql.String)},
			"source": {Type: gql.NonNull(graphql.String), Description: "流程的完整 YAML 文本"},
			"note":   {Type: graphql.String, Description: "发布说明"},
		},
		Resolve: func(p graphql.ResolveParams) (any, error) { return publish(p, "flow") }})
	// A configuration document is longer than gql's default bound on a
	// string (flows/ticket.yaml is 27 KB); the request body bounds it.
	b.MaxLength("Mutation.publishConfig(source:)", gql.MaxBodyBytes)
	b.MaxLength("Mutation.publishFlow(source:)", gql.MaxBodyBytes)
	return nil
}
