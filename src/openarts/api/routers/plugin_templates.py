"""GET /v1/{project_id}/plugintemplates/{name}: the plug-ins this platform has."""

from __future__ import annotations

from fastapi import APIRouter

from openarts import errors
from openarts.api.deps import CallerDep
from openarts.errors import OpenArtsError
from openarts.schemas.common import ERROR_RESPONSES
from openarts.schemas.pools import (
    PluginTemplateMetadataWire,
    PluginTemplateSpecWire,
    PluginTemplateVersionWire,
    PluginTemplateWire,
)
from openarts.services.plugin_templates import plugin_templates

router = APIRouter(prefix="/v1/{project_id}", tags=["Plug-in templates"], responses=ERROR_RESPONSES)


@router.get(
    "/plugintemplates/{plugintemplate_name}",
    response_model=PluginTemplateWire,
    summary="Query a plug-in template",
)
async def show_plugin_template(plugintemplate_name: str, caller: CallerDep) -> PluginTemplateWire:
    templates = plugin_templates()
    template = templates.get(plugintemplate_name)
    if template is None:
        raise OpenArtsError(
            errors.PLUGIN_TEMPLATE_NOT_FOUND,
            f"Plugintemplate {plugintemplate_name} not found; this platform has: "
            + ", ".join(sorted(templates)),
        )
    return PluginTemplateWire(
        metadata=PluginTemplateMetadataWire(name=template.name),
        spec=PluginTemplateSpecWire(
            type=template.type,
            description=template.description,
            versions={v: PluginTemplateVersionWire(detail=d) for v, d in template.versions.items()},
        ),
    )
