import { describe, expect, it } from "vitest";
import { withoutContact } from "./deleted-contact";

const dana = { email: "dana@wingtip.example", name: "Dana Reyes" };

describe("a deleted contact in what the extension keeps", () => {
  it("is found by its address where addresses are kept, whatever name the email gave it", () => {
    const item = { recipients: ["Dana R.", "Erin"], addresses: ["dana@wingtip.example", "erin@wingtip.example"] };
    expect(withoutContact(item, dana)).toEqual({ recipients: ["Erin"], addresses: ["erin@wingtip.example"] });
  });

  it("is found by its name or its address where only names were kept", () => {
    expect(withoutContact({ recipients: ["Dana Reyes", "Erin"] }, dana)).toEqual({ recipients: ["Erin"] });
    expect(withoutContact({ recipients: ["Dana@Wingtip.example", "Erin"] }, { email: dana.email })).toEqual({ recipients: ["Erin"] });
  });

  it("takes away a description it was the only recipient of, and leaves one it is not on as it was", () => {
    expect(withoutContact({ recipients: ["Dana Reyes"], addresses: [dana.email] }, dana)).toBeNull();
    const other = { recipients: ["Erin"], addresses: ["erin@wingtip.example"] };
    expect(withoutContact(other, dana)).toBe(other);
    // Another person of the same name is told apart by the address, where it is kept.
    const namesake = { recipients: ["Dana Reyes"], addresses: ["dana@other.example"] };
    expect(withoutContact(namesake, dana)).toBe(namesake);
  });
});
