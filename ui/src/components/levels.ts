// How a notice's or an announcement's level (the server's: info, warning,
// urgent) is shown.
export const levelLabels: Record<string, string> = { info: '普通', warning: '重要', urgent: '紧急' }
export const levelTags: Record<string, 'danger' | 'warning' | 'info'> = { urgent: 'danger', warning: 'warning', info: 'info' }
