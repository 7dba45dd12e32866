// Types of bin/build.js (plain JavaScript: it runs before anything is compiled).
export interface BuildInput {
  size: number;
  mtimeMs: number;
  sha256: string;
}
export interface BuildManifest {
  format: number;
  entry: string;
  inputs: Record<string, BuildInput>;
  outputs: string[];
}
export const REPO: string;
export const BUILD_DIR: string;
export const ENTRY: string;
export function staleReason(repo?: string, dir?: string): string | null;
export function freshBuild(repo?: string, dir?: string): { entry: string; reason: null } | { entry: null; reason: string };
export function buildCli(repo?: string, dir?: string): Promise<BuildManifest>;
