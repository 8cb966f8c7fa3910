/**
 * imgb.d.ts, the SDK's declarations, carried inside the binary: users download only the
 * binary, and `imgb flavor init` / `imgb flavor types` write these for their editor and `tsc`.
 * The text is generated when this module is bundled (or transpiled, running from source) by a
 * Bun macro, scripts/sdk_dts.ts, from src/sdk.ts: never out of step with the SDK it describes.
 */
import { sdkDeclarations } from "../../scripts/sdk_dts.ts" with { type: "macro" };

export const SDK_DECLARATIONS: string = sdkDeclarations();
