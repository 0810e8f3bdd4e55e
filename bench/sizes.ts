// Image sizes as the registry holds them: the compressed layer blobs of one platform's manifest.
import { layerBlobs } from '../e2e/support/registry.js'

export interface ImageSize {
  /** Sum of the compressed layer sizes, bytes. */
  bytes: number
  layers: number[]
}

export async function pushedSize(ref: string, platform: string): Promise<ImageSize> {
  const layers = (await layerBlobs(ref, platform)).map((l) => l.size)
  return { bytes: layers.reduce((a, b) => a + b, 0), layers }
}
