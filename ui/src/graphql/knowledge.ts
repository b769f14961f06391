// GraphQL documents of the knowledge pages (search, article, favourites,
// ratings, correction reports), typed by hand against
// schema/graphql/schema.graphql like documents.ts.
import { doc } from './client'

export interface ArticleSummary {
  id: string
  title: string
  version: number
  keywords: string[]
  unit: string
  publishedAt: string
  clicks: number
  rating: number
  ratings: number
}

const summary = 'id title version keywords unit publishedAt clicks rating ratings'

export interface Article extends ArticleSummary {
  fields: Record<string, unknown>
  effectiveFrom: string | null
  expiresAt: string | null
  publishedBy: string
  files: { id: string; name: string; mediaType: string; size: number }[]
  related: ArticleSummary[]
}

export interface FacetCount {
  field: string
  label: string
  value: string
  count: number
}

export interface Hit {
  article: ArticleSummary
  highlights: { field: string; fragment: string }[]
  score: number
}

export type KnowledgeSort = 'RELEVANCE' | 'UPDATED' | 'CLICKS' | 'HOT' | 'RATING'

export interface KnowledgeFilter {
  facets?: Record<string, string[]>
  fuzzy?: boolean
}

export const SEARCH_KNOWLEDGE = doc<
  { searchKnowledge: { totalCount: number; endCursor: string | null; facets: FacetCount[]; hits: Hit[] } },
  { query: string; filter?: KnowledgeFilter; sort?: KnowledgeSort | null; first: number; after?: string | null }
>(`query SearchKnowledge($query: String!, $filter: KnowledgeFilter, $sort: KnowledgeSort, $first: Int, $after: String) {
  searchKnowledge(query: $query, filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount endCursor
    facets { field label value count }
    hits { score highlights { field fragment } article { ${summary} } }
  }
}`)

export interface Suggestion {
  text: string
  kind: string
  article: string | null
  articles: number
}

export const SUGGEST_KNOWLEDGE = doc<{ suggestKnowledge: Suggestion[] }, { prefix: string; first: number }>(
  `query SuggestKnowledge($prefix: String!, $first: Int) { suggestKnowledge(prefix: $prefix, first: $first) { text kind article articles } }`,
)

export const HOT_KNOWLEDGE = doc<{ hotKnowledge: { id: string; title: string; clicks: number }[] }, { days: number; first: number }>(
  `query HotKnowledge($days: Int, $first: Int) { hotKnowledge(days: $days, first: $first) { id title clicks } }`,
)

export interface Correction {
  flow: string
  action: string
  actionLabel: string
  form: string
  article: string
  query: string
}

export interface KnowledgeBase {
  label: string
  ratingForm: string | null
  articleForms: string[]
  correction: Correction | null
}

export const KNOWLEDGE_BASE = doc<{ knowledgeBase: KnowledgeBase }>(
  `query KnowledgeBase { knowledgeBase { label ratingForm articleForms correction { flow action actionLabel form article query } } }`,
)

export const ARTICLE = doc<{ knowledgeArticle: Article }, { id: string; click: boolean }>(
  `query KnowledgeArticle($id: ID!, $click: Boolean) {
  knowledgeArticle(id: $id, click: $click) {
    ${summary} fields effectiveFrom expiresAt publishedBy files { id name mediaType size } related(first: 5) { ${summary} }
  }
}`,
)

export interface Version {
  version: number
  note: string
  publishedAt: string
  publishedBy: string
}

export const VERSIONS = doc<{ knowledgeVersions: Version[] }, { id: string }>(
  `query KnowledgeVersions($id: ID!) { knowledgeVersions(id: $id) { version note publishedAt publishedBy } }`,
)

export const DIFF = doc<
  { knowledgeDiff: { unified: string; changes: { field: string; label: string; before: string; after: string }[] } },
  { id: string; from: number; to: number }
>(`query KnowledgeDiff($id: ID!, $from: Int!, $to: Int!) { knowledgeDiff(id: $id, from: $from, to: $to) { unified changes { field label before after } } }`)

export interface Rating {
  user: string
  score: number
  ratedAt: string
  input: Record<string, unknown>
}

export const RATINGS = doc<{ knowledgeRatings: Rating[] }, { id: string }>(
  `query KnowledgeRatings($id: ID!) { knowledgeRatings(id: $id) { user score ratedAt input } }`,
)

export const RATE = doc<{ rateKnowledge: { id: string; rating: number; ratings: number } }, { id: string; input: Record<string, unknown> }>(
  `mutation RateKnowledge($id: ID!, $input: JSON!) { rateKnowledge(id: $id, input: $input) { id rating ratings } }`,
)

export interface Folder {
  id: string
  name: string
  parent: string | null
}

export interface Favorite {
  folder: string | null
  addedAt: string
  article: ArticleSummary
}

export const FAVORITES = doc<{ knowledgeFolders: Folder[]; knowledgeFavorites: Favorite[] }>(
  `query KnowledgeFavorites { knowledgeFolders { id name parent } knowledgeFavorites { folder addedAt article { ${summary} } } }`,
)

export const FAVORITE = doc<{ favoriteKnowledge: boolean }, { id: string; folder?: string | null }>(
  `mutation FavoriteKnowledge($id: ID!, $folder: ID) { favoriteKnowledge(id: $id, folder: $folder) }`,
)

export const UNFAVORITE = doc<{ unfavoriteKnowledge: boolean }, { id: string }>(
  `mutation UnfavoriteKnowledge($id: ID!) { unfavoriteKnowledge(id: $id) }`,
)

export const CREATE_FOLDER = doc<{ createKnowledgeFolder: Folder }, { name: string; parent?: string | null }>(
  `mutation CreateKnowledgeFolder($name: String!, $parent: ID) { createKnowledgeFolder(name: $name, parent: $parent) { id name parent } }`,
)

export const DELETE_FOLDER = doc<{ deleteKnowledgeFolder: boolean }, { id: string }>(
  `mutation DeleteKnowledgeFolder($id: ID!) { deleteKnowledgeFolder(id: $id) }`,
)

export const CREATE_CORRECTION = doc<{ createTicket: { id: string; number: string } }, { form: string; action: string; input: Record<string, unknown> }>(
  `mutation CreateCorrection($form: String!, $action: String, $input: JSON!) { createTicket(form: $form, action: $action, input: $input) { id number } }`,
)
