//! sudo's LDAP schema (`sudoRole` and the `sudo*` attributes, OIDs 1.3.6.1.4.1.15953.9) as
//! AD schema entries, for sites that keep sudo rules in Active Directory.

/// The sudo attributes: name, last OID arc, AD attribute syntax, oMSyntax, single-valued.
const ATTRIBUTES: [(&str, u32, &str, u32, bool); 10] = [
    ("sudoUser", 1, "2.5.5.5", 22, false),
    ("sudoHost", 2, "2.5.5.5", 22, false),
    ("sudoCommand", 3, "2.5.5.5", 22, false),
    ("sudoRunAs", 4, "2.5.5.5", 22, false),
    ("sudoOption", 5, "2.5.5.5", 22, false),
    ("sudoRunAsUser", 6, "2.5.5.5", 22, false),
    ("sudoRunAsGroup", 7, "2.5.5.5", 22, false),
    ("sudoNotBefore", 8, "2.5.5.11", 24, false),
    ("sudoNotAfter", 9, "2.5.5.11", 24, false),
    ("sudoOrder", 10, "2.5.5.9", 2, true),
];

/// The security descriptor new `sudoRole` entries get: full control for Domain Admins and
/// the system, read for Authenticated Users (hosts bind as their machine account).
const READABLE_BY_AUTHENTICATED_USERS: &str = "D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)\
     (A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPLCLORC;;;AU)";

/// The LDIF adding the attributes (`attributeSchema`) and, separately, the `sudoRole` class
/// (`classSchema`), for the forest whose root is `base_dn`.
pub fn ldif(base_dn: &str) -> (String, String) {
    let schema = format!("CN=Schema,CN=Configuration,{base_dn}");
    let mut attributes = String::new();
    for (name, arc, syntax, om, single) in ATTRIBUTES {
        attributes.push_str(&format!(
            "dn: CN={name},{schema}\nobjectClass: top\nobjectClass: attributeSchema\n\
             cn: {name}\nattributeID: 1.3.6.1.4.1.15953.9.1.{arc}\nattributeSyntax: {syntax}\n\
             oMSyntax: {om}\nisSingleValued: {}\nlDAPDisplayName: {name}\n\
             adminDisplayName: {name}\nsearchFlags: 1\n\n",
            if single { "TRUE" } else { "FALSE" }
        ));
    }
    let may: String = ATTRIBUTES
        .iter()
        .map(|a| format!("mayContain: {}\n", a.0))
        .collect();
    let class = format!(
        "dn: CN=sudoRole,{schema}\nobjectClass: top\nobjectClass: classSchema\ncn: sudoRole\n\
         governsID: 1.3.6.1.4.1.15953.9.2.1\nsubClassOf: top\nobjectClassCategory: 1\n\
         rDNAttID: cn\nlDAPDisplayName: sudoRole\nadminDisplayName: sudoRole\n\
         defaultObjectCategory: CN=sudoRole,{schema}\npossSuperiors: container\n\
         possSuperiors: organizationalUnit\nmustContain: cn\n{may}\
         defaultSecurityDescriptor: {READABLE_BY_AUTHENTICATED_USERS}\n\n"
    );
    (attributes, class)
}
