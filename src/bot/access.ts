/**
 * Who may talk to the bot, and how much (SPEC 12). Roles come from configuration
 * (TELEGRAM_APPROVERS / _ADMINS / _VIEWERS, Telegram user ids) and nest: admin ⊇ approver ⊇
 * viewer. Cards and alerts live in one configured chat; a known user may also talk to the
 * bot in their private chat. Everyone and everything else is a stranger: no reply, one
 * ACCESS_DENIED bead (rate-limited, so a flood cannot flood the audit log either).
 */
import type { Actor, Role } from '../engine/index.js';
import { clean } from './html.js';

export interface AccessConfig {
  /** the chat cards and alerts go to (TELEGRAM_CHAT_ID) */
  readonly chatId: string;
  readonly approvers: readonly string[];
  readonly admins: readonly string[];
  readonly viewers: readonly string[];
}

export type Rank = 'viewer' | 'approver' | 'admin';
const RANK_ORDER: readonly Rank[] = ['viewer', 'approver', 'admin'];

export const rankAtLeast = (have: Rank | null, need: Rank): boolean => have !== null && RANK_ORDER.indexOf(have) >= RANK_ORDER.indexOf(need);

export interface TelegramUserLike {
  readonly id: number;
  readonly first_name?: string;
  readonly last_name?: string;
  readonly username?: string;
}

export interface TelegramChatLike {
  readonly id: number;
  readonly type: string;
}

export class AccessPolicy {
  private readonly admins: ReadonlySet<string>;
  private readonly approvers: ReadonlySet<string>;
  private readonly viewers: ReadonlySet<string>;

  constructor(readonly config: AccessConfig) {
    this.admins = new Set(config.admins);
    this.approvers = new Set(config.approvers);
    this.viewers = new Set(config.viewers);
  }

  /** Highest configured rank of a Telegram user id, or null for a stranger. */
  rankOf(userId: number | string): Rank | null {
    const id = String(userId);
    if (this.admins.has(id)) return 'admin';
    if (this.approvers.has(id)) return 'approver';
    if (this.viewers.has(id)) return 'viewer';
    return null;
  }

  rolesOf(userId: number | string): Role[] {
    const rank = this.rankOf(userId);
    return rank === null ? [] : RANK_ORDER.slice(0, RANK_ORDER.indexOf(rank) + 1);
  }

  /** The configured chat, or the private chat between the bot and this (known) user. */
  chatAllowed(chat: TelegramChatLike, userId: number): boolean {
    if (String(chat.id) === this.config.chatId) return true;
    return chat.type === 'private' && chat.id === userId && this.rankOf(chat.id) !== null;
  }

  isMainChat(chatId: number | string): boolean {
    return String(chatId) === this.config.chatId;
  }

  /** The engine's Actor for a Telegram user (name: @username, else first name, else the id). */
  actor(user: TelegramUserLike): Actor {
    return { id: String(user.id), name: displayName(user), roles: this.rolesOf(user.id), via: 'telegram' };
  }
}

export function displayName(user: TelegramUserLike): string {
  const raw = user.username ? `@${user.username}` : [user.first_name, user.last_name].filter(Boolean).join(' ');
  const name = clean(raw).slice(0, 48);
  return name || `user ${user.id}`;
}

/** Remembers the last `size` update ids; `seen` is true for a duplicate. */
export class UpdateDeduper {
  private readonly ids = new Set<number>();
  private readonly order: number[] = [];

  constructor(private readonly size = 4096) {}

  seen(updateId: number): boolean {
    if (this.ids.has(updateId)) return true;
    this.ids.add(updateId);
    this.order.push(updateId);
    if (this.order.length > this.size) this.ids.delete(this.order.shift() as number);
    return false;
  }
}
