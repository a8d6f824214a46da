import { Injectable } from '@nestjs/common';
import { UniqueNumberSource } from '../accounts/random-ids';
import { badRequest, conflict, notFound } from '../common/sandbox-error';
import { OAuthClient, OAuthProvider } from './oauth-model';
import { SHAPES } from './oauth-shapes';

export interface ClientInput {
  provider: OAuthProvider;
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  name?: string;
  requirePkce?: boolean;
  accessTokenTtlSeconds?: number;
  rotateRefreshTokens?: boolean;
  scopes?: string[];
}

/** The registered OAuth apps of every provider shape. */
@Injectable()
export class OAuthClientsService {
  private readonly clients = new Map<string, OAuthClient>();
  /** Never reset, so an app id seen before a reset can't come back as another app. */
  private readonly appIds = new UniqueNumberSource();

  /** Creates a client, or updates the one with the same clientId (omitted fields keep their value). */
  upsert(input: ClientInput): OAuthClient {
    for (const uri of input.redirectUris) assertRedirectUri(uri);
    const now = new Date().toISOString();
    const existing = input.clientId === undefined ? undefined : this.clients.get(input.clientId);
    if (existing) {
      if (existing.provider !== input.provider) {
        throw conflict('client_provider_mismatch', `Client "${existing.clientId}" is a ${existing.provider} app, not ${input.provider}`);
      }
      existing.redirectUris = [...input.redirectUris];
      if (input.clientSecret !== undefined) existing.clientSecret = input.clientSecret;
      if (input.name !== undefined) existing.name = input.name;
      if (input.requirePkce !== undefined) existing.requirePkce = input.requirePkce;
      if (input.accessTokenTtlSeconds !== undefined) existing.accessTokenTtlSeconds = input.accessTokenTtlSeconds;
      if (input.rotateRefreshTokens !== undefined) existing.rotateRefreshTokens = rotationFor(input.provider, input.rotateRefreshTokens);
      if (input.scopes !== undefined) existing.scopes = [...input.scopes];
      existing.updatedAt = now;
      return existing;
    }
    const shape = SHAPES[input.provider];
    const credentials = shape.newClientCredentials();
    const client: OAuthClient = {
      clientId: input.clientId ?? credentials.clientId,
      clientSecret: input.clientSecret ?? credentials.clientSecret,
      provider: input.provider,
      name: input.name ?? `Sandbox ${shape.displayName} app`,
      redirectUris: [...input.redirectUris],
      requirePkce: input.requirePkce ?? false,
      accessTokenTtlSeconds: input.accessTokenTtlSeconds ?? null,
      rotateRefreshTokens: rotationFor(input.provider, input.rotateRefreshTokens),
      scopes: input.scopes ? [...input.scopes] : null,
      appId: this.appIds.next(),
      createdAt: now,
      updatedAt: now,
    };
    this.clients.set(client.clientId, client);
    return client;
  }

  /** The client, or a 404 for the admin API. */
  get(clientId: string): OAuthClient {
    const client = this.clients.get(clientId);
    if (!client) throw notFound('oauth_client_not_found', `No OAuth client with id "${clientId}"`);
    return client;
  }

  /** The client if it still exists; a deleted app's requests and tokens stop working. */
  find(clientId: string): OAuthClient | undefined {
    return this.clients.get(clientId);
  }

  list(): OAuthClient[] {
    return [...this.clients.values()];
  }

  /** Simulates the app being deleted/uninstalled: its tokens stop working at once. */
  delete(clientId: string): OAuthClient {
    const client = this.get(clientId);
    this.clients.delete(clientId);
    return client;
  }

  reset(): void {
    this.clients.clear();
  }
}

/** Shapes without rotation (Zoho) never rotate, whatever the app asks for. */
function rotationFor(provider: OAuthProvider, requested: boolean | undefined): boolean {
  const shape = SHAPES[provider];
  if (!shape.supportsRotation) return false;
  return requested ?? shape.defaultRotateRefreshTokens;
}

function assertRedirectUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw badRequest('invalid_request', `redirectUris: "${uri}" is not an absolute URL`);
  }
  if (url.hash !== '' || uri.includes('#')) throw badRequest('invalid_request', `redirectUris: "${uri}" must not contain a fragment`);
}
