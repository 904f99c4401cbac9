// What the extension keeps of a contact the rep deleted on the tracker (docs/protocol.md §13): the recipients named in
// the popup's activity and in follow-up reminders. The tracker deletes the emails sent only to the contact and takes
// the contact off the others; the extension's own copies follow it.

/** How a stored description of an email names its recipients, and their addresses in the same order when kept. */
export interface NamedRecipients {
  /** Each recipient's name as Gmail gave it, else its address. */
  recipients?: string[];
  /** Missing in what was stored before addresses were kept. */
  addresses?: string[];
}

/** The contact as the dashboard deletes it: its address, and the name the tracker last saw it with. */
export interface DeletedContact {
  email: string;
  name?: string | null;
}

/**
 * The description without the contact, the same object when it never named it, or null when the contact was its only
 * recipient (the tracker deleted that email). A description without addresses is matched by how it names the
 * contact: by its address, or by its name.
 */
export function withoutContact<T extends NamedRecipients>(item: T, contact: DeletedContact): T | null {
  const recipients = item.recipients ?? [];
  const { addresses } = item;
  const kept = recipients.map((label, i) =>
    addresses ? addresses[i] !== contact.email : label.toLowerCase() !== contact.email && label !== contact.name,
  );
  if (!kept.includes(false)) return item;
  if (!kept.includes(true)) return null;
  const keep = (_: string, i: number) => kept[i];
  return { ...item, recipients: recipients.filter(keep), ...(addresses ? { addresses: addresses.filter(keep) } : {}) };
}
