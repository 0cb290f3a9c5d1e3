import { createRequire } from 'node:module'
import type express from 'express'

/**
 * Express 4 itself (the dev dependency alias `express4`), whatever `express` resolves to in this run: for the
 * tests of what only Express 4 needs. It ships no types; its API is the part of Express 5's types they use.
 */
export const express4 = createRequire(import.meta.url)('express4') as typeof express
