"""What a request costs in the provider's own credits, before anything is sent.

From the providers' price sheets (providers.md §1.9, §2.9): Meshy-6 preview 20, refine 10,
textured image/multi-image 30; Tripo (H2/H3 models) textured text 20, image and
multi-view 30, detailed textures +10. The task's own figure, once known, is what counts.
"""

from __future__ import annotations

from studio.providers.base import GenerationKind, GenerationRequest, Quality

_MESHY = {GenerationKind.TEXT: 20, GenerationKind.IMAGE: 30, GenerationKind.MULTIVIEW: 30}
_MESHY_REFINE = 10
_TRIPO = {GenerationKind.TEXT: 20, GenerationKind.IMAGE: 30, GenerationKind.MULTIVIEW: 30}
_TRIPO_DETAILED = 10


def provider_credits(provider: str, request: GenerationRequest) -> int:
    """The provider credits ``request`` is expected to use."""
    ultra = request.quality is Quality.ULTRA
    if provider == "meshy":
        cost = _MESHY[request.kind]
        # Ultra text is preview then refine; image/multi-image are textured in one task.
        return cost + (_MESHY_REFINE if ultra and request.kind is GenerationKind.TEXT else 0)
    if provider == "tripo":
        return _TRIPO[request.kind] + (_TRIPO_DETAILED if ultra else 0)
    raise ValueError(f"unknown provider {provider!r}")
