package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
)

// Module contributes identity's part of the GraphQL API.
type Module struct{ Svc *Service }

// Name implements gql.Module.
func (Module) Name() string { return "identity" }

type authErrKey struct{}

// WithAuthError records why a presented token was refused, so a resolver
// that needs a principal reports "session expired" rather than "please log
// in", while operations that need none (login) still run.
func WithAuthError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, authErrKey{}, err)
}

// passwordChangeFields are the root fields a session may use while its
// password must be changed (a temporary password set by an administrator).
var passwordChangeFields = map[string]bool{"me": true, "changePassword": true, "logout": true}

// PrincipalOf returns the signed-in principal of a resolver call, or the
// reason there is none. Every module's resolvers that need a principal go
// through it (or Resolve), so the session rules apply everywhere.
func PrincipalOf(rp graphql.ResolveParams) (*Principal, error) {
	p, ok := FromContext(rp.Context)
	if !ok {
		if err, ok := rp.Context.Value(authErrKey{}).(error); ok {
			return nil, err
		}
		return Current(rp.Context)
	}
	if p.MustChangePassword && rp.Info.ParentType != nil {
		root := rp.Info.ParentType.Name()
		if (root == "Query" || root == "Mutation") && !passwordChangeFields[rp.Info.FieldName] {
			return nil, &gql.Error{Code: gql.Forbidden, Message: "请先修改初始密码（changePassword）", Extra: map[string]any{"reason": "MUST_CHANGE_PASSWORD"}}
		}
	}
	return p, nil
}

// Resolve wraps a resolver that needs the signed-in principal.
func Resolve(fn func(ctx context.Context, p *Principal, args map[string]any, src any) (any, error)) graphql.FieldResolveFn {
	return func(rp graphql.ResolveParams) (any, error) {
		p, err := PrincipalOf(rp)
		if err != nil {
			return nil, err
		}
		return fn(rp.Context, p, rp.Args, rp.Source)
	}
}

var stringList = graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(graphql.String)))

func optString(args map[string]any, k string) *string {
	if v, ok := args[k].(string); ok {
		return &v
	}
	return nil
}

func optInt(args map[string]any, k string) *int {
	if v, ok := args[k].(int); ok {
		return &v
	}
	return nil
}

func optBool(args map[string]any, k string) *bool {
	if v, ok := args[k].(bool); ok {
		return &v
	}
	return nil
}

func optID(args map[string]any, k, field string) (*int64, error) {
	v, ok := args[k]
	if !ok || v == nil {
		return nil, nil
	}
	id, err := gql.ParseID(fmt.Sprint(v), field)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func optStrings(args map[string]any, k string) []string {
	list, ok := args[k].([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	s := m.Svc
	permissionType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "Permission",
		Description: "权限 (a permission checked by the platform).",
		Fields: graphql.Fields{
			"name":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	roleType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "Role",
		Description: "角色 (a role from the configuration).",
		Fields: graphql.Fields{
			"name":        &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":       &graphql.Field{Type: gql.NonNull(graphql.String)},
			"description": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"scope":       &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return string(p.Source.(*Role).Scope), nil }},
			"permissions": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(permissionType))), Resolve: func(p graphql.ResolveParams) (any, error) {
				var out []Permission
				for _, ref := range p.Source.(*Role).Permissions {
					if pm, ok := lookupPermission(ref.Name); ok {
						out = append(out, pm)
					}
				}
				return out, nil
			}},
		},
	})
	var unitType *graphql.Object
	unitType = graphql.NewObject(graphql.ObjectConfig{
		Name:        "Unit",
		Description: "机构：市、区县、委办局、企业、街道、社区等 (a unit of the organisation tree).",
		Fields: graphql.FieldsThunk(func() graphql.Fields {
			return graphql.Fields{
				"id":     &graphql.Field{Type: gql.NonNull(graphql.ID)},
				"code":   &graphql.Field{Type: gql.NonNull(graphql.String)},
				"name":   &graphql.Field{Type: gql.NonNull(graphql.String)},
				"kind":   &graphql.Field{Type: gql.NonNull(graphql.String)},
				"depth":  &graphql.Field{Type: gql.NonNull(graphql.Int)},
				"sort":   &graphql.Field{Type: gql.NonNull(graphql.Int)},
				"active": &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
				"parent": &graphql.Field{Type: unitType, Description: "上级机构；不在数据范围内时为空", Resolve: Resolve(func(ctx context.Context, p *Principal, _ map[string]any, src any) (any, error) {
					u := src.(Unit)
					if u.ParentID == nil {
						return nil, nil
					}
					parent, err := s.Unit(ctx, p, *u.ParentID)
					if err != nil {
						return nil, nil // outside the scope: the top of what p sees
					}
					return parent, nil
				})},
				"children": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(unitType))), Description: "下级机构（按编号排序，最多 first 个）",
					Args: graphql.FieldConfigArgument{"first": {Type: graphql.Int, DefaultValue: 200}},
					Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, src any) (any, error) {
						first, _ := args["first"].(int)
						if first < 1 || first > 1000 {
							return nil, gql.FieldError("first", "first 须在 1 到 1000 之间")
						}
						id := src.(Unit).ID
						return s.Units(ctx, p, UnitFilter{ParentID: &id, Limit: first})
					})},
				"posts": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(postType))), Resolve: Resolve(func(ctx context.Context, p *Principal, _ map[string]any, src any) (any, error) {
					return s.Posts(ctx, p, src.(Unit).ID)
				})},
			}
		}),
	})
	userType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "User",
		Description: "账户 (an account).",
		Fields: graphql.Fields{
			"id":                 &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"username":           &graphql.Field{Type: gql.NonNull(graphql.String)},
			"displayName":        &graphql.Field{Type: gql.NonNull(graphql.String)},
			"phone":              &graphql.Field{Type: gql.NonNull(graphql.String)},
			"level":              &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "账户级别"},
			"disabled":           &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
			"lockedUntil":        &graphql.Field{Type: gql.Time},
			"mustChangePassword": &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
			"roles":              &graphql.Field{Type: stringList},
			"unit": &graphql.Field{Type: gql.NonNull(unitType), Resolve: Resolve(func(ctx context.Context, p *Principal, _ map[string]any, src any) (any, error) {
				return s.unit(ctx, s.pool, p, src.(User).UnitID)
			})},
			"posts": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(postType))), Resolve: Resolve(func(ctx context.Context, p *Principal, _ map[string]any, src any) (any, error) {
				return s.postsByID(ctx, p, src.(User).PostIDs)
			})},
		},
	})
	meType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "Me",
		Description: "当前登录的账户 (the signed-in account).",
		Fields: graphql.Fields{
			"id":          &graphql.Field{Type: gql.NonNull(graphql.ID), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*Principal).UserID, nil }},
			"username":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"displayName": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"roles":       &graphql.Field{Type: stringList},
			"scope":       &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return string(p.Source.(*Principal).Scope), nil }},
			"permissions": &graphql.Field{Type: stringList, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*Principal).PermissionNames(), nil }},
			// Me is also returned by login, before the request carries a
			// principal, so these resolve from the source principal.
			"unit": &graphql.Field{Type: gql.NonNull(unitType), Resolve: func(rp graphql.ResolveParams) (any, error) {
				p := rp.Source.(*Principal)
				return s.Unit(rp.Context, p, p.UnitID)
			}},
			"mustChangePassword": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Resolve: func(rp graphql.ResolveParams) (any, error) {
				p := rp.Source.(*Principal)
				u, err := s.User(rp.Context, p, p.UserID)
				return u.MustChangePassword, err
			}},
		},
	})
	loginType := graphql.NewObject(graphql.ObjectConfig{
		Name: "LoginPayload",
		Fields: graphql.Fields{
			"token":              &graphql.Field{Type: gql.NonNull(graphql.String), Description: "在 Authorization: Bearer <token> 中使用"},
			"expiresAt":          &graphql.Field{Type: gql.NonNull(gql.Time)},
			"mustChangePassword": &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
			"me":                 &graphql.Field{Type: gql.NonNull(meType), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*LoginResult).Principal, nil }},
		},
	})
	sessionType := graphql.NewObject(graphql.ObjectConfig{
		Name: "Session",
		Fields: graphql.Fields{
			"id":         &graphql.Field{Type: gql.NonNull(graphql.ID), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Session).ID, nil }},
			"createdAt":  &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Session).CreatedAt, nil }},
			"expiresAt":  &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Session).ExpiresAt, nil }},
			"lastSeenAt": &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Session).LastSeenAt, nil }},
			"remoteAddr": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Session).RemoteAddr, nil }},
			"userAgent":  &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Session).UserAgent, nil }},
			"current": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Resolve: Resolve(func(_ context.Context, p *Principal, _ map[string]any, src any) (any, error) {
				return src.(Session).ID == p.SessionID, nil
			})},
		},
	})
	auditType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "AuditEntry",
		Description: "审计日志条目 (an append-only audit row).",
		Fields: graphql.Fields{
			"id":         &graphql.Field{Type: gql.NonNull(graphql.ID), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(audit.Row).ID, nil }},
			"at":         &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(audit.Row).At, nil }},
			"actor":      &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(audit.Row).Actor, nil }},
			"action":     &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(audit.Row).Action, nil }},
			"targetType": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(audit.Row).TargetType, nil }},
			"targetId":   &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(audit.Row).TargetID, nil }},
			"remoteAddr": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(audit.Row).RemoteAddr, nil }},
			"userAgent":  &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(audit.Row).UserAgent, nil }},
			"before":     &graphql.Field{Type: gql.JSON, Resolve: func(p graphql.ResolveParams) (any, error) { return rawOrNil(p.Source.(audit.Row).Before), nil }},
			"after":      &graphql.Field{Type: gql.JSON, Resolve: func(p graphql.ResolveParams) (any, error) { return rawOrNil(p.Source.(audit.Row).After), nil }},
			"details":    &graphql.Field{Type: gql.JSON, Resolve: func(p graphql.ResolveParams) (any, error) { return rawOrNil(p.Source.(audit.Row).Details), nil }},
		},
	})

	// Queries.
	b.Query("me", &graphql.Field{Type: gql.NonNull(meType), Description: "当前登录的账户", Resolve: Resolve(func(_ context.Context, p *Principal, _ map[string]any, _ any) (any, error) {
		return p, nil
	})})
	b.Query("roles", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(roleType))), Description: "配置中定义的角色", Resolve: Resolve(func(context.Context, *Principal, map[string]any, any) (any, error) {
		var out []*Role
		for _, d := range s.config.Current().All(KindRole) {
			out = append(out, d.Model.(*Role))
		}
		return out, nil
	})})
	b.Query("permissions", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(permissionType))), Description: "平台各模块声明的权限", Resolve: Resolve(func(context.Context, *Principal, map[string]any, any) (any, error) {
		return Permissions(), nil
	})})
	b.Query("unit", &graphql.Field{Type: gql.NonNull(unitType), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return s.Unit(ctx, p, id)
		})})
	unitArgs := graphql.FieldConfigArgument{
		"parentId": {Type: graphql.ID, Description: "列出该机构的下级；不填则列出数据范围的顶层机构"},
		"search":   {Type: graphql.String, Description: "按名称或编码查找（在整个数据范围内）"},
	}
	for k, v := range gql.PageArgs {
		unitArgs[k] = v
	}
	b.Query("units", &graphql.Field{Type: gql.NonNull(gql.Connection(unitType)), Args: unitArgs, Description: "机构列表（限于数据范围）",
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			page, err := gql.PageFrom(args)
			if err != nil {
				return nil, err
			}
			parent, err := optID(args, "parentId", "parentId")
			if err != nil {
				return nil, err
			}
			f := UnitFilter{ParentID: parent, Search: deref(optString(args, "search")), AfterID: page.After, Limit: page.First + 1}
			f.Roots = parent == nil && f.Search == ""
			units, err := s.Units(ctx, p, f)
			if err != nil {
				return nil, err
			}
			return gql.ConnectionOf(units, page, func(u Unit) int64 { return u.ID }), nil
		})})
	b.Query("user", &graphql.Field{Type: gql.NonNull(userType), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return s.User(ctx, p, id)
		})})
	userArgs := graphql.FieldConfigArgument{
		"unitId":   {Type: graphql.ID},
		"subunits": {Type: graphql.Boolean, DefaultValue: false, Description: "包括下级机构的账户"},
		"search":   {Type: graphql.String, Description: "用户名、姓名或电话"},
		"role":     {Type: graphql.String},
	}
	for k, v := range gql.PageArgs {
		userArgs[k] = v
	}
	b.Query("users", &graphql.Field{Type: gql.NonNull(gql.Connection(userType)), Args: userArgs, Description: "账户列表（限于数据范围）",
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			page, err := gql.PageFrom(args)
			if err != nil {
				return nil, err
			}
			unit, err := optID(args, "unitId", "unitId")
			if err != nil {
				return nil, err
			}
			users, err := s.Users(ctx, p, UserFilter{UnitID: unit, Subunits: derefBool(optBool(args, "subunits")), Search: deref(optString(args, "search")),
				Role: deref(optString(args, "role")), AfterID: page.After, Limit: page.First + 1})
			if err != nil {
				return nil, err
			}
			return gql.ConnectionOf(users, page, func(u User) int64 { return u.ID }), nil
		})})
	b.Query("sessions", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(sessionType))), Args: graphql.FieldConfigArgument{"userId": {Type: graphql.ID, Description: "不填为自己的会话"}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			uid, err := optID(args, "userId", "userId")
			if err != nil {
				return nil, err
			}
			if uid == nil {
				uid = &p.UserID
			}
			return s.Sessions(ctx, p, *uid)
		})})
	auditArgs := graphql.FieldConfigArgument{
		"action":     {Type: graphql.String},
		"actor":      {Type: graphql.String},
		"targetType": {Type: graphql.String},
		"targetId":   {Type: graphql.String},
		"from":       {Type: gql.Time},
		"to":         {Type: gql.Time},
	}
	for k, v := range gql.PageArgs {
		auditArgs[k] = v
	}
	b.Query("auditLog", &graphql.Field{Type: gql.NonNull(gql.Connection(auditType)), Args: auditArgs, Description: "审计日志，新的在前（限于数据范围）",
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			page, err := gql.PageFrom(args)
			if err != nil {
				return nil, err
			}
			f := audit.Filter{Action: deref(optString(args, "action")), Actor: deref(optString(args, "actor")),
				TargetType: deref(optString(args, "targetType")), TargetID: deref(optString(args, "targetId")),
				AfterID: page.After, Limit: page.First + 1}
			if t, ok := args["from"].(time.Time); ok {
				f.From = t
			}
			if t, ok := args["to"].(time.Time); ok {
				f.To = t
			}
			rows, err := s.AuditLog(ctx, p, f)
			if err != nil {
				return nil, err
			}
			return gql.ConnectionOf(rows, page, func(r audit.Row) int64 { return r.ID }), nil
		})})

	// Mutations.
	b.Mutation("login", &graphql.Field{Type: gql.NonNull(loginType), Description: "用户名密码登录，返回会话令牌",
		Args: graphql.FieldConfigArgument{"username": {Type: gql.NonNull(graphql.String)}, "password": {Type: gql.NonNull(graphql.String)}},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			return s.Login(p.Context, p.Args["username"].(string), p.Args["password"].(string))
		}})
	b.Mutation("logout", &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "注销当前会话",
		Resolve: Resolve(func(ctx context.Context, p *Principal, _ map[string]any, _ any) (any, error) {
			return true, s.Logout(ctx, p)
		})})
	b.Mutation("changePassword", &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "修改自己的密码（其他会话将被注销）",
		Args: graphql.FieldConfigArgument{"oldPassword": {Type: gql.NonNull(graphql.String)}, "newPassword": {Type: gql.NonNull(graphql.String)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			return true, s.ChangePassword(ctx, p, args["oldPassword"].(string), args["newPassword"].(string))
		})})
	b.Mutation("revokeSession", &graphql.Field{Type: gql.NonNull(graphql.Boolean), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return true, s.RevokeSession(ctx, p, id)
		})})

	unitInput := graphql.NewInputObject(graphql.InputObjectConfig{
		Name: "UnitInput",
		Fields: graphql.InputObjectConfigFieldMap{
			"code":     {Type: graphql.String, Description: "机构编码，唯一"},
			"name":     {Type: graphql.String},
			"kind":     {Type: graphql.String, Description: "如 district、bureau、street、community"},
			"parentId": {Type: graphql.ID},
			"sort":     {Type: graphql.Int},
			"active":   {Type: graphql.Boolean},
		},
	})
	readUnitInput := func(args map[string]any) (UnitInput, error) {
		in, _ := args["input"].(map[string]any)
		parent, err := optID(in, "parentId", "input.parentId")
		return UnitInput{Code: optString(in, "code"), Name: optString(in, "name"), Kind: optString(in, "kind"),
			ParentID: parent, Sort: optInt(in, "sort"), Active: optBool(in, "active")}, err
	}
	b.Mutation("createUnit", &graphql.Field{Type: gql.NonNull(unitType), Args: graphql.FieldConfigArgument{"input": {Type: gql.NonNull(unitInput)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			in, err := readUnitInput(args)
			if err != nil {
				return nil, err
			}
			return s.CreateUnit(ctx, p, in)
		})})
	b.Mutation("updateUnit", &graphql.Field{Type: gql.NonNull(unitType), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}, "input": {Type: gql.NonNull(unitInput)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			in, err := readUnitInput(args)
			if err != nil {
				return nil, err
			}
			return s.UpdateUnit(ctx, p, id, in)
		})})
	b.Mutation("createPost", &graphql.Field{Type: gql.NonNull(postType),
		Args: graphql.FieldConfigArgument{"unitId": {Type: gql.NonNull(graphql.ID)}, "name": {Type: gql.NonNull(graphql.String)}, "roles": {Type: graphql.NewList(gql.NonNull(graphql.String))}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			unit, err := gql.ID(args, "unitId")
			if err != nil {
				return nil, err
			}
			return s.CreatePost(ctx, p, unit, args["name"].(string), optStrings(args, "roles"))
		})})

	userInput := graphql.NewInputObject(graphql.InputObjectConfig{
		Name: "UserInput",
		Fields: graphql.InputObjectConfigFieldMap{
			"username":    {Type: graphql.String, Description: "创建时必填，之后不能修改"},
			"displayName": {Type: graphql.String},
			"unitId":      {Type: graphql.ID},
			"phone":       {Type: graphql.String},
			"level":       {Type: graphql.Int, Description: "账户级别"},
			"disabled":    {Type: graphql.Boolean},
			"roles":       {Type: graphql.NewList(gql.NonNull(graphql.String))},
			"password":    {Type: graphql.String, Description: "创建时的初始密码；不填则生成临时密码，首次登录须修改"},
		},
	})
	readUserInput := func(args map[string]any) (UserInput, error) {
		in, _ := args["input"].(map[string]any)
		unit, err := optID(in, "unitId", "input.unitId")
		out := UserInput{Username: optString(in, "username"), DisplayName: optString(in, "displayName"), UnitID: unit,
			Phone: optString(in, "phone"), Level: optInt(in, "level"), Disabled: optBool(in, "disabled"), Password: optString(in, "password")}
		if _, ok := in["roles"]; ok {
			out.Roles = optStrings(in, "roles")
			if out.Roles == nil {
				out.Roles = []string{}
			}
		}
		return out, err
	}
	createdUserType := graphql.NewObject(graphql.ObjectConfig{
		Name: "CreatedUser",
		Fields: graphql.Fields{
			"user": &graphql.Field{Type: gql.NonNull(userType), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(CreatedUser).User, nil }},
			"temporaryPassword": &graphql.Field{Type: graphql.String, Description: "生成的临时密码，只显示这一次", Resolve: func(p graphql.ResolveParams) (any, error) {
				return gql.NilIfEmpty(p.Source.(CreatedUser).TemporaryPassword), nil
			}},
		},
	})
	b.Mutation("createUser", &graphql.Field{Type: gql.NonNull(createdUserType), Args: graphql.FieldConfigArgument{"input": {Type: gql.NonNull(userInput)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			in, err := readUserInput(args)
			if err != nil {
				return nil, err
			}
			return s.CreateUser(ctx, p, in)
		})})
	b.Mutation("updateUser", &graphql.Field{Type: gql.NonNull(userType), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}, "input": {Type: gql.NonNull(userInput)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			in, err := readUserInput(args)
			if err != nil {
				return nil, err
			}
			if in.Password != nil {
				return nil, gql.FieldError("input.password", "请使用 resetPassword 重置密码")
			}
			return s.UpdateUser(ctx, p, id, in)
		})})
	b.Mutation("setUserPosts", &graphql.Field{Type: gql.NonNull(userType), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}, "postIds": {Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.ID)))}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			var posts []int64
			for _, v := range args["postIds"].([]any) {
				pid, err := gql.ParseID(fmt.Sprint(v), "postIds")
				if err != nil {
					return nil, err
				}
				posts = append(posts, pid)
			}
			return s.SetUserPosts(ctx, p, id, posts)
		})})
	resetType := graphql.NewObject(graphql.ObjectConfig{
		Name: "PasswordReset",
		Fields: graphql.Fields{
			"user":              &graphql.Field{Type: gql.NonNull(userType)},
			"temporaryPassword": &graphql.Field{Type: graphql.String, Description: "生成的临时密码，只显示这一次"},
		},
	})
	b.Mutation("resetPassword", &graphql.Field{Type: gql.NonNull(resetType), Description: "管理员重置密码；下次登录须修改，现有会话被注销",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}, "password": {Type: graphql.String, Description: "不填则生成临时密码"}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			u, generated, err := s.ResetPassword(ctx, p, id, deref(optString(args, "password")))
			if err != nil {
				return nil, err
			}
			return map[string]any{"user": u, "temporaryPassword": gql.NilIfEmpty(generated)}, nil
		})})
	b.Mutation("unlockUser", &graphql.Field{Type: gql.NonNull(userType), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: Resolve(func(ctx context.Context, p *Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return s.UnlockUser(ctx, p, id)
		})})
	return nil
}

var postType = graphql.NewObject(graphql.ObjectConfig{
	Name:        "Post",
	Description: "岗位：授予持有人角色 (a post granting roles to its holders).",
	Fields: graphql.Fields{
		"id":     &graphql.Field{Type: gql.NonNull(graphql.ID)},
		"unitId": &graphql.Field{Type: gql.NonNull(graphql.ID)},
		"name":   &graphql.Field{Type: gql.NonNull(graphql.String)},
		"roles":  &graphql.Field{Type: stringList},
	},
})

// postsByID returns the posts among ids that are in the principal's scope.
func (s *Service) postsByID(ctx context.Context, p *Principal, ids []int64) ([]Post, error) {
	if len(ids) == 0 {
		return []Post{}, nil
	}
	args := []any{ids}
	rows, err := s.pool.Query(ctx, `SELECT p.id, p.unit_id, p.name, p.roles FROM posts p JOIN units un ON un.id = p.unit_id
		WHERE p.id = ANY($1) AND `+p.ScopeSQL("un.path", &args)+` ORDER BY p.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading posts: %w", err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		var p Post
		if err := rows.Scan(&p.ID, &p.UnitID, &p.Name, &p.Roles); err != nil {
			return nil, fmt.Errorf("reading posts: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func rawOrNil(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func derefBool(b *bool) bool { return b != nil && *b }
