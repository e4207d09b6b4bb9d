// The version printed by `longrl --version` and `longrl info`; kept in step with package.json.
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
