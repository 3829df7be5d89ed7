/**
 * A small ODK form with what the household form lacks: names OData must
 * sanitise ("site.name", "plot-info"), a group and a nested repeat inside a
 * repeat, a repeat inside a group, relative body refs, a geoshape. The
 * /fields lists are what Central's getFormFields and sanitizeFieldsForOdata
 * give for this XForm.
 */
export const TREES_XFORM = `<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa">
  <h:head>
    <h:title>Tree plots</h:title>
    <model>
      <instance>
        <data id="trees" version="3">
          <site.name/>
          <plot-info><area/></plot-info>
          <plots jr:template=""><g><x/><kind/></g><trees jr:template=""><height/><shape/></trees></plots>
          <survey><visits jr:template=""><when/></visits></survey>
          <meta><instanceID/></meta>
        </data>
      </instance>
      <instance id="kinds"><root><item><name>oak</name></item></root></instance>
      <bind nodeset="/data/site.name" type="string"/>
      <bind nodeset="/data/plot-info/area" type="decimal"/>
      <bind nodeset="/data/plots/g/x" type="int"/>
      <bind nodeset="/data/plots/g/kind" type="string"/>
      <bind nodeset="/data/plots/trees/height" type="decimal"/>
      <bind nodeset="/data/plots/trees/shape" type="geoshape"/>
      <bind nodeset="/data/survey/visits/when" type="date"/>
      <bind nodeset="/data/meta/instanceID" type="string"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/site.name"/>
    <group ref="/data/plot-info"><input ref="area"/></group>
    <group ref="/data/plots"><repeat nodeset="/data/plots">
      <group ref="g"><input ref="x"/><select1 ref="kind"><itemset nodeset="instance('kinds')/root/item"/></select1></group>
      <group ref="/data/plots/trees"><repeat nodeset="/data/plots/trees"><input ref="height"/><input ref="shape"/></repeat></group>
    </repeat></group>
    <group ref="/data/survey"><repeat nodeset="/data/survey/visits"><input ref="when"/></repeat></group>
  </h:body>
</h:html>`;

const field = (path: string, type: string): { path: string; name: string; type: string; binary: null; selectMultiple: null } => ({
  path,
  name: path.slice(path.lastIndexOf("/") + 1),
  type,
  binary: null,
  selectMultiple: null,
});

export const TREES_FIELDS = [
  field("/site.name", "string"),
  field("/plot-info", "structure"),
  field("/plot-info/area", "decimal"),
  field("/plots", "repeat"),
  field("/plots/g", "structure"),
  field("/plots/g/x", "int"),
  field("/plots/g/kind", "string"),
  field("/plots/trees", "repeat"),
  field("/plots/trees/height", "decimal"),
  field("/plots/trees/shape", "geoshape"),
  field("/survey", "structure"),
  field("/survey/visits", "repeat"),
  field("/survey/visits/when", "date"),
  field("/meta", "structure"),
  field("/meta/instanceID", "string"),
];

const sanitize = (name: string): string => name.replace(/^([^a-z_])/i, "_$1").replace(/([^a-z0-9_]+)/gi, "_");

export const TREES_ODATA_FIELDS = TREES_FIELDS.map((f) => ({
  ...f,
  name: sanitize(f.name),
  path: f.path.split("/").map(sanitize).join("/"),
}));

export const TREES_FORM = { projectId: 1, xmlFormId: "trees", name: "Tree plots", version: "3", state: "open" };
