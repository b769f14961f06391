// GraphQL documents of announcements (公告): publishing, the lists for the
// reader and the publisher, and acknowledging. Typed by hand against
// schema/graphql/schema.graphql like documents.ts.
import { doc } from './client'

export interface Announcement {
  id: string
  title: string
  body: string
  level: string
  publisher: string
  createdAt: string
  expiresAt: string | null
  acknowledgedAt: string | null
}

export interface AnnouncementRecipient {
  username: string
  displayName: string
  unit: string
  acknowledgedAt: string | null
}

export interface PublishedAnnouncement extends Announcement {
  total: number
  acknowledged: number
  audience: { roles: string[]; units: string[]; users: string[] }
  // The first of those who have not acknowledged (pendingShown of them).
  pending: AnnouncementRecipient[]
}

export const pendingShown = 20

const fields = 'id title body level publisher createdAt expiresAt acknowledgedAt'
const published = `${fields} total acknowledged audience { roles units users } pending(first: ${pendingShown}) { username displayName unit acknowledgedAt }`

export const MY_ANNOUNCEMENTS = doc<{ announcements: Announcement[] }, { unacknowledged?: boolean; first?: number }>(
  `query MyAnnouncements($unacknowledged: Boolean, $first: Int) {
  announcements(unacknowledged: $unacknowledged, first: $first) { ${fields} }
}`,
)

export const PUBLISHED_ANNOUNCEMENTS = doc<{ announcements: PublishedAnnouncement[] }, { first?: number }>(
  `query PublishedAnnouncements($first: Int) {
  announcements(published: true, first: $first) { ${published} }
}`,
)

export const ACKNOWLEDGE_ANNOUNCEMENT = doc<{ acknowledgeAnnouncement: Announcement }, { id: string }>(
  `mutation AcknowledgeAnnouncement($id: ID!) { acknowledgeAnnouncement(id: $id) { ${fields} } }`,
)

export interface AnnouncementInput {
  title: string
  body: string
  level: string
  roles: string[]
  units: string[]
  users: string[]
  expiresAt: string | null
}

export const PUBLISH_ANNOUNCEMENT = doc<{ publishAnnouncement: PublishedAnnouncement }, { input: AnnouncementInput }>(
  `mutation PublishAnnouncement($input: AnnouncementInput!) {
  publishAnnouncement(input: $input) { ${published} }
}`,
)

// The publisher's choices: who may publish (me.permissions), and the
// units and accounts of the audience, searched as the publisher types.
export const PUBLISHER = doc<{ me: { permissions: string[] } }>(`query Publisher { me { permissions } }`)

export const AUDIENCE_UNITS = doc<{ units: { edges: { node: { code: string; name: string } }[] } }, { search: string | null }>(
  `query AudienceUnits($search: String) { units(search: $search, first: 50) { edges { node { code name } } } }`,
)

export const AUDIENCE_USERS = doc<
  { users: { edges: { node: { username: string; displayName: string; unit: { name: string } } }[] } },
  { search: string | null }
>(`query AudienceUsers($search: String) { users(search: $search, first: 50) { edges { node { username displayName unit { name } } } } }`)
