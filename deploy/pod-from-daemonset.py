#!/usr/bin/env python3
"""Writes the pod template of deploy/daemonset.yaml as a Pod for `podman kube play`.

podman 4.3 (Debian 12) plays Pods and Deployments but not DaemonSets, so
scripts/deploy-check.sh runs the DaemonSet's own pod template, unchanged
except for the image and the tool (the registry reference in args).
"""
import argparse
import sys

import yaml  # Debian python3-yaml


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("daemonset", help="the manifest (deploy/daemonset.yaml)")
    parser.add_argument("--name", default="ecli-check", help="name of the Pod")
    parser.add_argument("--image", required=True, help="image of the ecli container")
    parser.add_argument("--tool", required=True, help="replaces the placeholder registry reference in args")
    parser.add_argument("--insecure", action="store_true",
                        help="add ecli's --insecure before the tool (a plain-HTTP registry on loopback)")
    parser.add_argument("--host-network", action="store_true",
                        help="the node's network, without port mappings (where podman's bridge networking fails)")
    args = parser.parse_args()

    with open(args.daemonset) as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    daemonsets = [d for d in documents if d.get("kind") == "DaemonSet"]
    if len(daemonsets) != 1:
        print(f"pod-from-daemonset: {args.daemonset} holds {len(daemonsets)} DaemonSets, expected 1", file=sys.stderr)
        return 1
    template = daemonsets[0]["spec"]["template"]
    containers = template["spec"]["containers"]
    ecli = next((c for c in containers if c["name"] == "ecli"), None)
    if ecli is None:
        print("pod-from-daemonset: no container named ecli in the pod template", file=sys.stderr)
        return 1
    placeholders = [i for i, a in enumerate(ecli["args"]) if str(a).startswith("registry.example.com/")]
    if len(placeholders) != 1:
        print("pod-from-daemonset: expected one registry.example.com/ reference in the args", file=sys.stderr)
        return 1
    ecli["image"] = args.image
    ecli["args"][placeholders[0]] = args.tool
    if args.insecure:
        ecli["args"].insert(placeholders[0], "--insecure")
    if args.host_network:
        # podman maps containerPorts only on bridge networks; with the host's
        # network ecli's port is the node's, and probes name it by number.
        template["spec"]["hostNetwork"] = True
        numbers = {p["name"]: p["containerPort"] for p in ecli.pop("ports", []) if "name" in p}
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            get = ecli.get(probe, {}).get("httpGet")
            if get and get.get("port") in numbers:
                get["port"] = numbers[get["port"]]

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": dict(template.get("metadata", {}), name=args.name),
        "spec": template["spec"],
    }
    yaml.safe_dump(pod, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
